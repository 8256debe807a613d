// A large clean event stream for the false-alert benchmark: realistic enough that a detector that fires
// on it has a bug or a bad default, and free of incidents by construction (see `cleanStream`).
import { Budget } from '../../schemas/policy.js'
import { eventDefaults, type RequestEvent } from '../../schemas/request-event.js'
import { prng } from './replay-traffic.js'

export interface CleanStreamOptions {
  events: number
  /** First instant; should be a Monday 00:00 UTC (default 2026-11-02). */
  start?: number
  days?: number
  customers?: number
  agents?: number
  seed?: number
}

const MIN = 60_000
const DAY = 86_400_000
/** Share of events from agents (internal automation, business hours only). */
const AGENT_SHARE = 0.25
const MODELS = [
  // [model, share, mean cost USD]
  ['gpt-4o-mini', 0.6, 0.0015],
  ['gpt-4o', 0.3, 0.015],
  ['claude-3-5-sonnet', 0.1, 0.02],
] as const
const MEAN_COST = MODELS.reduce((a, [, s, c]) => a + s * c, 0)
const ERRORS = [
  'RateLimitError',
  'Timeout',
  'APIConnectionError',
  'BadRequestError',
  'ServiceUnavailableError',
]
const ENDPOINTS = ['/chat/completions', '/embeddings', '/responses', '/completions'].flatMap((p) =>
  ['support', 'search', 'summaries'].map((f) => `${f}${p}`),
)
const TEAMS = 50

const dow = (ts: number) => (Math.floor(ts / DAY) + 4) % 7 // 1970-01-01 was a Thursday
const weekday = (ts: number) => dow(ts) >= 1 && dow(ts) <= 5
/** Agents' hours: Mon-Fri 08:00-19:00 UTC (the zombie detector's default business hours). */
const agentHours = (ts: number) => weekday(ts) && ts % DAY >= 8 * 3_600_000 && ts % DAY < 19 * 3_600_000
/** Customer traffic per minute, relative: a daily wave peaking at 15:00 UTC (1.6x), weekends at 60%. */
const customerWeight = (ts: number) =>
  (1 + 0.6 * Math.cos((2 * Math.PI * ((ts % DAY) / 3_600_000 - 15)) / 24)) * (weekday(ts) ? 1 : 0.6)

/** Zipf(1) popularity: customer `i` gets a share proportional to 1/(i+1). Returns the CDF and shares. */
export function zipf(n: number): { cdf: Float64Array; share: (i: number) => number } {
  const cdf = new Float64Array(n)
  let h = 0
  for (let i = 0; i < n; i++) cdf[i] = h += 1 / (i + 1)
  for (let i = 0; i < n; i++) cdf[i]! /= h
  return { cdf, share: (i) => 1 / (i + 1) / h }
}

/** The index `u` (uniform in [0, 1)) falls on in `cdf` (binary search). */
export function pick(cdf: Float64Array, u: number): number {
  let lo = 0
  let hi = cdf.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cdf[mid]! < u) lo = mid + 1
    else hi = mid
  }
  return lo
}

function resolved(o: CleanStreamOptions): Required<CleanStreamOptions> {
  return {
    events: o.events,
    start: o.start ?? Date.UTC(2026, 10, 2),
    days: o.days ?? 14,
    customers: o.customers ?? 5000,
    agents: o.agents ?? 60,
    seed: o.seed ?? 42,
  }
}

/** Per-minute event counts (customer, agent) summing to `events`, by the traffic shape above. */
function minutePlan(o: Required<CleanStreamOptions>): { customer: Float64Array; agent: Float64Array } {
  const minutes = o.days * 1440
  const customer = new Float64Array(minutes)
  const agent = new Float64Array(minutes)
  let cw = 0
  let aw = 0
  for (let m = 0; m < minutes; m++) {
    const ts = o.start + m * MIN
    cw += customer[m] = customerWeight(ts)
    aw += agent[m] = agentHours(ts) ? 1 : 0
  }
  for (let m = 0; m < minutes; m++) {
    customer[m] = (customer[m]! / cw) * o.events * (1 - AGENT_SHARE)
    agent[m] = (agent[m]! / aw) * o.events * AGENT_SHARE
  }
  return { customer, agent }
}

/**
 * Clean traffic of `events` requests over `days` (default 14 from Monday 2026-11-02): customers
 * (Zipf popularity, 1-3 keys each, conversations as traces, at all hours with a daily wave and quieter
 * weekends) and agents (own keys, sessions of ~30 requests at irregular gaps, Mon-Fri 08:00-19:00 UTC
 * only). Prompts are unique except 3% drawn from 500 common ones; 1% of requests fail (mixed error
 * types) and a third of those are retried once or twice with the same prompt a few seconds later (at
 * most 3 repeats: under the loop threshold). Exactly `events` events (retries included), in time order.
 * Lazy and deterministic per seed.
 */
export function* cleanStream(opts: CleanStreamOptions): Generator<RequestEvent> {
  const o = resolved(opts)
  const rnd = prng(o.seed)
  const plan = minutePlan(o)
  const { cdf } = zipf(o.customers)
  const convo = new Int32Array(o.customers)
  const session = new Int32Array(o.agents)
  const lastDay = new Float64Array(o.agents).fill(-1)
  let carryC = 0
  let carryA = 0
  let seq = 0
  let yielded = 0
  const retries: RequestEvent[] = []
  for (let m = 0; m < plan.customer.length; m++) {
    const t = o.start + m * MIN
    carryC += plan.customer[m]!
    carryA += plan.agent[m]!
    const nc = Math.floor(carryC)
    const na = Math.floor(carryA)
    carryC -= nc
    carryA -= na
    const slot: RequestEvent[] = []
    for (let i = 0; i < nc + na; i++) {
      const ts = t + Math.floor(rnd() * MIN)
      const e = base(`clean-${seq++}`, ts, rnd)
      if (i < nc) {
        const c = pick(cdf, rnd())
        if (rnd() < 0.25) convo[c]!++
        e.customer = `cust-${c}`
        e.team = `team-${c % TEAMS}`
        e.api_key_hash = `cust-${c}-key-${c % 3 === 0 ? 0 : Math.floor(rnd() * ((c % 3) + 1))}`
        e.trace_id = `cust-${c}-conv-${convo[c]}`
      } else {
        const a = Math.floor(rnd() * o.agents)
        // a run ends at random (~30 requests) and always by the end of the working day
        if (rnd() < 1 / 30 || lastDay[a] !== Math.floor(ts / DAY)) session[a]!++
        lastDay[a] = Math.floor(ts / DAY)
        e.agent = `agent-${a}`
        e.team = 'platform'
        e.api_key_hash = `agent-key-${a}`
        e.trace_id = e.session_id = `agent-${a}-run-${session[a]}`
      }
      slot.push(e)
      if (e.status === 'failure' && rnd() < 1 / 3) {
        // the gateway's retry: same request, a few seconds later, once or twice
        const n = rnd() < 0.5 ? 1 : 2
        for (let r = 1; r <= n; r++)
          retries.push({
            ...e,
            event_id: `${e.event_id}-retry-${r}`,
            ts: e.ts + r * 2_000,
            end_ts: e.end_ts + r * 2_000,
          })
      }
    }
    slot.sort((a, b) => a.ts - b.ts)
    // retries keep the failed request's attribution; they leave in time order with the next minutes
    const due = retries.filter((r) => r.ts < t + MIN)
    if (due.length > 0) {
      slot.push(...due)
      slot.sort((a, b) => a.ts - b.ts)
      retries.splice(0, retries.length, ...retries.filter((r) => r.ts >= t + MIN))
    }
    for (const e of slot) {
      if (yielded++ === o.events) return
      yield e
    }
  }
}

function base(event_id: string, ts: number, rnd: () => number): RequestEvent {
  const u = rnd()
  const [model, , mean] =
    u < MODELS[0][1] ? MODELS[0] : u < MODELS[0][1] + MODELS[1][1] ? MODELS[1] : MODELS[2]
  const failed = rnd() < 0.01
  const duration = 300 + Math.floor(rnd() * 4000)
  return {
    ...eventDefaults(),
    event_id,
    ts,
    end_ts: ts + duration,
    duration_ms: duration,
    source: 'litellm_http',
    gateway: 'bench',
    endpoint: ENDPOINTS[Math.floor(rnd() * ENDPOINTS.length)]!,
    provider: model.startsWith('claude') ? 'anthropic' : 'openai',
    call_type: 'acompletion',
    model_requested: model,
    model,
    input_tokens: 200 + Math.floor(rnd() * 3000),
    output_tokens: 50 + Math.floor(rnd() * 800),
    // 0.2x..1.8x the model's mean; failures cost nothing
    cost_usd: failed ? 0 : Math.round(mean * (0.2 + 1.6 * rnd()) * 1e6) / 1e6,
    status: failed ? 'failure' : 'success',
    error_type: failed ? ERRORS[Math.floor(rnd() * ERRORS.length)]! : '',
    http_status: failed ? 500 : 200,
    fingerprint: rnd() < 0.03 ? `common-${Math.floor(rnd() * 500)}` : `fp-${event_id}`,
  }
}

/**
 * Budgets a team would set for this traffic: each at `headroom` times the expected spend of its
 * busiest scope on a busy (week)day, so none comes near its first threshold (50%) unless something
 * is wrong: global monthly, each customer daily, each team weekly, each agent daily, and the top
 * customer's own monthly budget.
 */
export function cleanStreamBudgets(opts: CleanStreamOptions, headroom = 3): Budget[] {
  const o = resolved(opts)
  const perDay = o.events / o.days
  // a weekday carries more than the average day: weekends run at 60%, agents only work weekdays
  const weekdayCustomer = ((perDay * (1 - AGENT_SHARE) * 7) / (5 + 2 * 0.6)) * MEAN_COST
  const weekdayAgents = ((perDay * AGENT_SHARE * 7) / 5) * MEAN_COST
  const { share } = zipf(o.customers)
  const topCustomerDay = weekdayCustomer * share(0)
  const topTeamDay =
    weekdayCustomer *
    Array.from({ length: o.customers }, (_, i) => i)
      .filter((i) => i % TEAMS === 0)
      .reduce((a, i) => a + share(i), 0)
  const r2 = (x: number) => Math.round(x * headroom * 100) / 100
  return [
    {
      name: 'global-monthly',
      scope: {},
      limit_usd: r2((weekdayCustomer + weekdayAgents) * 31),
      period: 'month',
    },
    { name: 'customer-daily', scope: { customer: '*' }, limit_usd: r2(topCustomerDay), period: 'day' },
    {
      name: 'team-weekly',
      scope: { team: '*' },
      limit_usd: r2(Math.max(topTeamDay * 7, weekdayAgents * 5)),
      period: 'week',
    },
    { name: 'agent-daily', scope: { agent: '*' }, limit_usd: r2(weekdayAgents / o.agents), period: 'day' },
    {
      name: 'top-customer-monthly',
      scope: { customer: 'cust-0' },
      limit_usd: r2(topCustomerDay * 31),
      period: 'month',
    },
  ].map((b) => Budget.parse(b))
}
