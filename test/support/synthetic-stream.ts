import { Budget, DetectorsConfig } from '../../schemas/policy.js'
import { eventDefaults, type RequestEvent } from '../../schemas/request-event.js'
import type { DetectorPolicy } from '../../core/detectors/runner.js'
import { prng } from './prng.js'

/** Shape of the clean synthetic traffic (for the false-alert self-check and benchmark). */
export interface SyntheticOptions {
  /** Number of events (default 200 000). */
  events?: number
  /** Events per day: sets the span (default 70 000/day). */
  perDay?: number
  /** First instant (default Monday 2026-11-02 00:00 UTC). */
  start?: number
  seed?: number
  customers?: number
  agents?: number
}

const AVG_COST = 0.012
const ERRORS = [
  'RateLimitError',
  'Timeout',
  'APIConnectionError',
  'BadRequestError',
  'ContentPolicyViolation',
  'ServiceUnavailable',
]

function blank(event_id: string, ts: number): RequestEvent {
  return {
    ...eventDefaults(),
    event_id,
    ts,
    end_ts: ts + 800,
    duration_ms: 800,
    source: 'litellm_http',
    gateway: 'synthetic',
    endpoint: '/chat/completions',
    provider: 'openai',
    call_type: 'acompletion',
    model_requested: 'gpt-4o-mini',
    model: 'gpt-4o-mini',
    input_tokens: 500,
    output_tokens: 200,
    http_status: 200,
  }
}

/**
 * Clean traffic that none of the detectors should flag with `syntheticPolicy`: customers at all hours
 * at a steady overall rate (spend about a third of every budget), agents only in business hours
 * (Mon-Fri 08:00-19:00 UTC, internal: no customer or team) with irregular gaps and sessions of ~40 requests, mostly unique prompts
 * (5% common ones, never 5 per key or trace per minute), 1% errors of mixed types. Deterministic per seed;
 * lazy (a generator), so a million events cost no memory.
 */
export function* syntheticCleanStream(opts: SyntheticOptions = {}): Generator<RequestEvent> {
  const n = opts.events ?? 200_000
  const perDay = opts.perDay ?? 70_000
  const start = opts.start ?? Date.UTC(2026, 10, 2)
  const customers = opts.customers ?? 300
  const agents = opts.agents ?? 12
  const rnd = prng(opts.seed ?? 42)
  const step = 86_400_000 / perDay
  const convo = new Array<number>(customers).fill(0)
  const session = new Array<number>(agents).fill(0)
  for (let k = 0; k < n; k++) {
    const ts = start + Math.floor(k * step + rnd() * step)
    const day = Math.floor(ts / 86_400_000)
    const dow = (day + 4) % 7 // 1970-01-01 was a Thursday
    const hour = Math.floor((ts - day * 86_400_000) / 3_600_000)
    const business = dow >= 1 && dow <= 5 && hour >= 8 && hour < 19
    const failed = rnd() < 0.01
    const e = blank(`syn-${k}`, ts)
    e.cost_usd = Math.round((0.002 + rnd() * 2 * (AVG_COST - 0.002)) * 1e6) / 1e6
    e.fingerprint = rnd() < 0.05 ? `common-${Math.floor(rnd() * 20)}` : `fp-${k}`
    if (failed) {
      e.status = 'failure'
      e.error_type = ERRORS[Math.floor(rnd() * ERRORS.length)]!
      e.http_status = 500
    }
    if (business && rnd() < 0.4) {
      const a = Math.floor(rnd() * agents)
      if (rnd() < 1 / 40) session[a]!++
      e.agent = `agent-${a}`
      e.api_key_hash = `agent-key-${a}`
      e.trace_id = `agent-${a}-s${session[a]}`
      e.session_id = `agent-${a}-s${session[a]}`
    } else {
      const c = Math.floor(rnd() * customers)
      if (rnd() < 0.2) convo[c]!++
      e.customer = `cust-${c}`
      e.team = `team-${c % 10}`
      e.api_key_hash = `cust-${c}-key-${k % 2}`
      e.trace_id = `cust-${c}-t${convo[c]}`
    }
    yield e
  }
}

/**
 * Budgets sized for `syntheticCleanStream` (about a third of each budget spent at the stream's rate) and
 * the default detector config: global monthly, each customer daily, each team weekly.
 */
export function syntheticPolicy(opts: SyntheticOptions = {}): DetectorPolicy {
  const perDay = opts.perDay ?? 70_000
  const customers = opts.customers ?? 300
  const daily = perDay * AVG_COST
  const budgets = [
    { name: 'global-monthly', scope: {}, limit_usd: Math.round(daily * 31 * 3), period: 'month' },
    {
      name: 'customer-daily',
      scope: { customer: '*' },
      limit_usd: round2((daily / customers) * 3),
      period: 'day',
    },
    { name: 'team-weekly', scope: { team: '*' }, limit_usd: round2((daily / 10) * 7 * 3), period: 'week' },
  ].map((b) => Budget.parse(b))
  return { budgets, detectors: DetectorsConfig.parse({}) }
}

const round2 = (x: number) => Math.round(x * 100) / 100
