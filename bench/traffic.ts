/**
 * Realistic LiteLLM traffic for the benchmarks (issue 10), pure and deterministic from a seed: LiteLLM
 * `StandardLoggingPayload`s of ~4.6 KB (the success fixture of test/support/events.ts, attribution set as
 * test/support/replay-traffic.ts's `cleanPayload` sets it) carrying real-looking multi-message
 * conversations (a system prompt, earlier user/assistant turns, the new user turn, the reply; prose,
 * code and figures of varied lengths), from 10,000 customers with Zipf popularity (1-3 keys each, 200
 * teams, 12 endpoints), 60 agents (own keys, runs of ~30 steps and at most 40 minutes, Mon-Fri 08:00-19:00 UTC only, like
 * test/support/clean-stream.ts), models at their real prices (schemas/model-prices.json), 1% failures.
 *
 * With `incidents` (the default), four incidents are planted at known offsets from `start` (see
 * `plantedIncidents`): a zombie agent working off hours, a budget running out, a loop and a burn-rate
 * spike; `trafficBudgets` gives the budgets the last two need. The clean part plants nothing: its prompts
 * are unique, agents keep business hours, no customer carries a budget.
 */
import { createHash } from 'node:crypto'
import prices from '../schemas/model-prices.json' with { type: 'json' }
import { pick, zipf } from '../test/support/clean-stream.js'
import { cleanPayload, prng } from '../test/support/replay-traffic.js'

export type Payload = Record<string, unknown>

const MIN = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000

/** The default window: Tuesday 2026-11-03 05:00-12:00 UTC (off hours until 08:00, then business hours). */
export const TRAFFIC_START = Date.UTC(2026, 10, 3, 5)
export const TRAFFIC_SPAN_MS = 7 * HOUR

export interface TrafficOptions {
  /** Clean events (the planted incidents come on top). */
  events: number
  seed?: number
  /** First instant (default `TRAFFIC_START`); with incidents, `start + 1h` must be off business hours. */
  start?: number
  /** Clean events spread evenly over `[start, start + spanMs)` (default 7 h). */
  spanMs?: number
  customers?: number
  agents?: number
  /** Plant the four incidents (default true). */
  incidents?: boolean
  /** Prefix of every event id (`${idPrefix}-${n}`), so that runs on one store do not collide. */
  idPrefix?: string
}

export type IncidentKind = 'zombie_agent' | 'budget_exhaustion' | 'loop' | 'burn_rate'

/** One planted incident: its events, and the event that completes the pattern. */
export interface PlantedIncident {
  kind: IncidentKind
  /** The scope its alert is about (`loop` also fires on the trace: `trace`). */
  scope: { kind: 'key' | 'agent' | 'customer'; id: string }
  customer: string
  /** The key's name (its alias); `keyHash` is what the payloads carry as `user_api_key_hash`. */
  key: string
  keyHash: string
  trace: string
  agent?: string
  /** Start times of its requests, in order. */
  times: number[]
  costEach: number
  /** Index in `times` of the request that completes the pattern (the alert is due from then on). */
  completesAt: number
  /** The budget it runs against (budget_exhaustion, burn_rate). */
  budget?: { name: string; limit_usd: number; period: 'day' | 'month' }
  /** The same prompt every time (loop), else unique prompts. */
  repeatedPrompt?: string
}

const AGENT_SHARE = 0.25
const TEAMS = 200
const ENDPOINTS = ['/chat/completions', '/responses', '/completions', '/embeddings'].flatMap((p) =>
  ['support', 'search', 'summaries'].map((f) => `${f}${p}`),
)

/** Models and their share of requests; prices come from schemas/model-prices.json. */
const MODEL_MIX: ReadonlyArray<readonly [string, number]> = [
  ['gpt-4o-mini', 0.3],
  ['gpt-4.1-mini', 0.15],
  ['gpt-4o', 0.15],
  ['claude-sonnet-4-5', 0.12],
  ['claude-haiku-4-5', 0.1],
  ['gemini-2.5-flash', 0.1],
  ['o4-mini', 0.05],
  ['gpt-4.1', 0.03],
]
type Price = { provider: string; input_per_mtok: number; output_per_mtok: number }
const PRICES = (prices as unknown as { models: Record<string, Price> }).models
const MODELS = MODEL_MIX.map(([name, share]) => {
  const price = PRICES[name]
  if (!price) throw new Error(`bench/traffic: ${name} is not in schemas/model-prices.json`)
  return { name, share, ...price }
})
const MODEL_CDF = (() => {
  let acc = 0
  const total = MODELS.reduce((a, m) => a + m.share, 0)
  return Float64Array.from(MODELS, (m) => (acc += m.share / total))
})()

/** Dollars of a call at the model's list price, rounded to the store's 10 decimals. */
export function priceOf(model: string, input: number, output: number): number {
  const p = PRICES[model]!
  return Math.round(((input * p.input_per_mtok + output * p.output_per_mtok) / 1e6) * 1e10) / 1e10
}

// ---- text: prose, code and figures from small vocabularies (unique by word choice: fingerprints
// normalise long numbers and ids away, see core/ingest/fingerprint.ts)

const NOUNS = (
  'invoice refund order shipment account password login billing plan upgrade renewal receipt address ' +
  'delivery package tracking warranty return exchange discount coupon price subscription trial payment ' +
  'card charge report dashboard chart filter range team member invite role permission admin webhook ' +
  'integration calendar reminder meeting summary draft reply table query error timeout retry cache ' +
  'deployment cluster schema migration index latency throughput budget forecast contract clause vendor ' +
  'customer ticket escalation policy region quota token model prompt dataset pipeline release branch'
).split(' ')
const VERBS = (
  'check update cancel explain compare summarise translate rewrite validate export import schedule ' +
  'review approve reject merge deploy estimate forecast reconcile refund escalate resolve document list'
).split(' ')
const ADJS = (
  'monthly annual pending overdue duplicate missing damaged urgent recent previous current detailed ' +
  'short formal friendly internal external failed successful partial regional quarterly weekly'
).split(' ')
const LANGS = ['python', 'sql', 'typescript', 'bash'] as const

type Rnd = () => number
const one = <T>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
const int = (r: Rnd, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1))

function sentence(r: Rnd): string {
  const forms = [
    () => `Can you ${one(r, VERBS)} the ${one(r, ADJS)} ${one(r, NOUNS)} for our ${one(r, NOUNS)}?`,
    () => `The ${one(r, NOUNS)} ${one(r, NOUNS)} looks ${one(r, ADJS)} since the last ${one(r, NOUNS)}.`,
    () => `Please ${one(r, VERBS)} each ${one(r, NOUNS)} and ${one(r, VERBS)} the ${one(r, ADJS)} ones.`,
    () => `We need a ${one(r, ADJS)} ${one(r, NOUNS)} before the ${one(r, NOUNS)} ${one(r, NOUNS)} is due.`,
    () =>
      `I tried to ${one(r, VERBS)} the ${one(r, NOUNS)} but the ${one(r, NOUNS)} came back ${one(r, ADJS)}.`,
  ]
  return one(r, forms)()
}

const prose = (r: Rnd, n: number) => Array.from({ length: n }, () => sentence(r)).join(' ')

/** 12,345 (toLocaleString is slow). */
const thousands = (n: number) =>
  n >= 1000 ? `${Math.floor(n / 1000)},${String(n % 1000).padStart(3, '0')}` : String(n)

function figures(r: Rnd): string {
  const rows = int(r, 2, 5)
  const lines = Array.from(
    { length: rows },
    () =>
      `| ${one(r, NOUNS)} | ${thousands(int(r, 1, 99_999))} | ${(r() * 100).toFixed(1)}% | $${(r() * 5000).toFixed(2)} |`,
  )
  return [`| ${one(r, NOUNS)} | count | share | amount |`, '|---|---|---|---|', ...lines].join('\n')
}

function code(r: Rnd): string {
  const lang = one(r, LANGS)
  const a = one(r, NOUNS)
  const b = one(r, NOUNS)
  const body =
    lang === 'python'
      ? `def ${one(r, VERBS)}_${a}(${b}s, limit=${int(r, 10, 500)}):\n    out = [x for x in ${b}s if x.${one(r, ADJS)}]\n    return sorted(out, key=lambda x: x.${a})[:limit]`
      : lang === 'sql'
        ? `SELECT ${a}_id, sum(${b}_amount) AS total\nFROM ${a}s\nWHERE status = '${one(r, ADJS)}' AND created_at >= now() - INTERVAL ${int(r, 1, 90)} DAY\nGROUP BY ${a}_id ORDER BY total DESC LIMIT ${int(r, 5, 100)};`
        : lang === 'typescript'
          ? `export async function ${one(r, VERBS)}${a[0]!.toUpperCase()}${a.slice(1)}(${b}: ${b[0]!.toUpperCase()}${b.slice(1)}[]): Promise<number> {\n  const ${one(r, ADJS)} = ${b}.filter((x) => x.${a} > ${int(r, 1, 99)})\n  return ${one(r, ADJS)}.length\n}`
          : `for f in ${a}-*.json; do\n  jq '.${b} | select(.${one(r, ADJS)})' "$f" >> ${one(r, VERBS)}.ndjson\ndone`
  return `\`\`\`${lang}\n${body}\n\`\`\``
}

/** A user turn: mostly prose, sometimes a table of figures or a code block to look at. */
function userTurn(r: Rnd): string {
  const u = r()
  if (u < 0.15) return `${prose(r, int(r, 1, 2))}\n\n${code(r)}`
  if (u < 0.25) return `${prose(r, 1)}\n\n${figures(r)}`
  return prose(r, int(r, 1, 4))
}

/** An assistant turn: an answer in prose, sometimes with code or a short list. */
function assistantTurn(r: Rnd): string {
  const u = r()
  if (u < 0.2) return `${prose(r, int(r, 1, 3))}\n\n${code(r)}`
  if (u < 0.35)
    return `${prose(r, 1)}\n${Array.from({ length: int(r, 2, 4) }, (_, i) => `${i + 1}. ${sentence(r)}`).join('\n')}`
  return prose(r, int(r, 2, 5))
}

const SYSTEMS = [
  'You are a support assistant for an online store. Answer briefly, ask for the order number when it is missing, and never promise refunds you cannot verify.',
  'You are a search assistant. Answer from the retrieved documents only, cite them by title, and say so when the answer is not in them.',
  'You are a summarisation assistant. Summarise the conversation or document in at most five bullet points, keeping figures and dates exact.',
  'You are an analytics assistant. Write SQL for the warehouse schema you are given, explain the query in one paragraph, and flag expensive scans.',
]
const AGENT_SYSTEM =
  'You are an autonomous operations agent. Work through the task list step by step, call one tool per step, report what changed, and stop when the list is done.'

type Message = { role: string; content: string }

/** A conversation's turns, deterministic from its own seed: request `turn` sends turns 0..turn-1 and a new user turn. */
function conversation(seed: number, turn: number, system: string): { messages: Message[]; reply: string } {
  const r = prng(seed)
  const messages: Message[] = [{ role: 'system', content: system }]
  for (let t = 0; ; t++) {
    messages.push({ role: 'user', content: userTurn(r) })
    const reply = assistantTurn(r)
    if (t === turn) return { messages, reply }
    messages.push({ role: 'assistant', content: reply })
  }
}

/** A stable 64-hex "hash" for a key name (LiteLLM logs the sha256 of the virtual key). */
const hashes = new Map<string, string>()
export function keyHash(name: string): string {
  let h = hashes.get(name)
  if (h === undefined) hashes.set(name, (h = createHash('sha256').update(name).digest('hex')))
  return h
}
/** A stable uuid-shaped id (teams, as LiteLLM names them). */
const uuidOf = (name: string) => {
  const h = keyHash(name)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const dow = (ts: number) => (Math.floor(ts / DAY) + 4) % 7 // 1970-01-01 was a Thursday
/** The zombie detector's default business hours: Mon-Fri 08:00-19:00 UTC. Agents work only then. */
export const businessHours = (ts: number) =>
  dow(ts) >= 1 && dow(ts) <= 5 && ts % DAY >= 8 * HOUR && ts % DAY < 19 * HOUR

type Resolved = Required<TrafficOptions>
function resolved(o: TrafficOptions): Resolved {
  return {
    events: o.events,
    seed: o.seed ?? 1,
    start: o.start ?? TRAFFIC_START,
    spanMs: o.spanMs ?? TRAFFIC_SPAN_MS,
    customers: o.customers ?? 10_000,
    agents: o.agents ?? 60,
    incidents: o.incidents ?? true,
    idPrefix: o.idPrefix ?? 'gen',
  }
}

/**
 * The four incidents, at offsets from `start` (with the default start, Tue 2026-11-03):
 * - zombie agent, +1h (06:00, off hours): agent `agent-zombie` sends 30 requests 60 s apart; the 20th
 *   (the detector's default `min_requests`) completes it;
 * - budget running out, +2h (07:00): customer `budget-co` spends 48 x $0.125 against `budget-co-daily`
 *   ($5/day), 45 s apart: the 40th reaches 100%;
 * - loop, +4h (09:00): key `loop-key` (trace `loop-trace`) sends one prompt 6 times 3 s apart; the 5th
 *   completes it (default threshold 5);
 * - burn-rate spike, +5h (10:00): customer `burst-co` (budget `burst-co-monthly`, $720/month: $1/h
 *   sustainable) spends 90 x $0.25 in 30 min ($45/h); the 58th request takes the last hour over 14.4x.
 */
export function plantedIncidents(opts: TrafficOptions): PlantedIncident[] {
  const o = resolved(opts)
  if (!o.incidents) return []
  if (businessHours(o.start + HOUR))
    throw new Error('bench/traffic: with incidents, start + 1h must be off business hours (the zombie)')
  const series = (from: number, n: number, every: number) =>
    Array.from({ length: n }, (_, i) => from + i * every)
  const incidents: Array<Omit<PlantedIncident, 'keyHash'>> = [
    {
      kind: 'zombie_agent',
      scope: { kind: 'agent', id: 'agent-zombie' },
      customer: '',
      key: 'agent-zombie-key',
      trace: 'agent-zombie-run',
      agent: 'agent-zombie',
      times: series(o.start + HOUR + 500, 30, MIN),
      costEach: 0.004,
      completesAt: 19,
    },
    {
      kind: 'budget_exhaustion',
      scope: { kind: 'customer', id: 'budget-co' },
      customer: 'budget-co',
      key: 'budget-co-key',
      trace: 'budget-co-conv',
      times: series(o.start + 2 * HOUR + 1_100, 48, 45_000),
      costEach: 0.125,
      completesAt: 39,
      budget: { name: 'budget-co-daily', limit_usd: 5, period: 'day' },
    },
    {
      kind: 'loop',
      scope: { kind: 'key', id: keyHash('loop-key') },
      customer: 'loop-co',
      key: 'loop-key',
      trace: 'loop-trace',
      times: series(o.start + 4 * HOUR + 250, 6, 3_000),
      costEach: 0.01,
      completesAt: 4,
      repeatedPrompt: 'Summarise ticket 4711 again and list every open question in it.',
    },
    {
      kind: 'burn_rate',
      scope: { kind: 'customer', id: 'burst-co' },
      customer: 'burst-co',
      key: 'burst-co-key',
      trace: 'burst-co-conv',
      times: series(o.start + 5 * HOUR + 700, 90, 20_000),
      costEach: 0.25,
      completesAt: 57,
      budget: { name: 'burst-co-monthly', limit_usd: 720, period: 'month' },
    },
  ]
  return incidents.map((p) => ({ ...p, keyHash: keyHash(p.key) }))
}

/** The budgets the planted incidents run against, as the config's `budgets:` entries. */
export function trafficBudgets(opts: TrafficOptions): Array<{
  name: string
  scope: { customer: string }
  limit_usd: number
  period: 'day' | 'month'
}> {
  return plantedIncidents(opts).flatMap((p) =>
    p.budget ? [{ ...p.budget, scope: { customer: p.customer } }] : [],
  )
}

/** Fills a payload made by `cleanPayload` with the model, tokens, cost, conversation and attribution. */
function dress(
  p: Payload,
  a: {
    model: (typeof MODELS)[number]
    messages: Message[]
    reply: string
    endpoint: string
    team: string
    keyName: string
    failed: boolean
    cost?: number
    agent?: string
    session?: string
  },
): Payload {
  const chars = a.messages.reduce((n, m) => n + m.content.length, 0)
  const input = Math.ceil(chars / 4) + 12
  const output = a.failed ? 0 : Math.ceil(a.reply.length / 4)
  const cost = a.failed ? 0 : (a.cost ?? priceOf(a.model.name, input, output))
  const md = p.metadata as Payload
  const provider = a.model.provider.startsWith('vertex_ai') ? 'gemini' : a.model.provider
  p.model = p.model_group = a.model.name
  p.custom_llm_provider = provider
  p.prompt_tokens = input
  p.completion_tokens = output
  p.total_tokens = input + output
  p.response_cost = cost
  p.cost_breakdown = { input_cost: cost, output_cost: 0, tool_usage_cost: 0, total_cost: cost }
  p.model_map_information = {
    model_map_key: a.model.name,
    model_map_value: {
      key: a.model.name,
      input_cost_per_token: a.model.input_per_mtok / 1e6,
      output_cost_per_token: a.model.output_per_mtok / 1e6,
      litellm_provider: provider,
      mode: 'chat',
    },
  }
  p.messages = a.messages
  md.user_api_key_hash = keyHash(a.keyName)
  md.user_api_key_alias = a.keyName
  md.user_api_key_team_id = md.team_id = uuidOf(a.team)
  md.user_api_key_team_alias = md.team_alias = a.team
  md.spend_logs_metadata = {
    endpoint: a.endpoint,
    ...(a.agent ? { agent: a.agent } : {}),
    ...(a.session ? { session: a.session } : {}),
  }
  md.usage_object = { completion_tokens: output, prompt_tokens: input, total_tokens: input + output }
  const hidden = p.hidden_params as Payload
  hidden.response_cost = cost
  hidden.litellm_model_name = a.model.name
  if (a.failed) {
    p.status = 'failure'
    p.error_str = `litellm.RateLimitError: RateLimitError: ${provider} - Rate limit reached for ${a.model.name}`
    p.error_information = { error_code: '429', error_class: 'RateLimitError', llm_provider: provider }
    p.response = {}
  } else {
    const resp = p.response as Payload
    resp.model = a.model.name
    resp.choices = [
      {
        index: 0,
        finish_reason: 'stop',
        message: { role: 'assistant', content: a.reply, tool_calls: null, function_call: null },
      },
    ]
    resp.usage = { completion_tokens: output, prompt_tokens: input, total_tokens: input + output }
  }
  return p
}

/**
 * The payloads, in start-time order: `events` clean ones evenly spread over the window, with the
 * planted incidents' requests merged in at their times. Lazy; the same options give the same payloads.
 */
export function* trafficPayloads(opts: TrafficOptions): Generator<Payload> {
  const o = resolved(opts)
  const rnd = prng(o.seed)
  const { cdf } = zipf(o.customers)
  const convo = new Int32Array(o.customers)
  const turn = new Int32Array(o.customers)
  const session = new Int32Array(o.agents)
  const step = new Int32Array(o.agents)
  const lastDay = new Float64Array(o.agents).fill(-1)
  const runStart = new Float64Array(o.agents)
  const planted = plantedIncidents(o).flatMap((inc) => inc.times.map((ts, i) => ({ ts, inc, i })))
  planted.sort((a, b) => a.ts - b.ts)
  let next = 0
  let seq = 0
  const id = () => `${o.idPrefix}-${seq++}`

  for (let i = 0; i < o.events; i++) {
    const ts = o.start + Math.floor(((i + rnd()) / o.events) * o.spanMs)
    while (next < planted.length && planted[next]!.ts <= ts) yield plantedPayload(planted[next++]!, id(), rnd)
    const model = MODELS[pick(MODEL_CDF, rnd())]!
    const failed = rnd() < 0.01
    const endpoint = one(rnd, ENDPOINTS)
    if (businessHours(ts) && rnd() < AGENT_SHARE) {
      const a = Math.floor(rnd() * o.agents)
      // a run ends at random (~30 steps), after 40 minutes at most, and by the end of the working day
      if (rnd() < 1 / 30 || lastDay[a] !== Math.floor(ts / DAY) || ts - runStart[a]! > 40 * MIN) {
        session[a]!++
        step[a] = 0
        runStart[a] = ts
      }
      lastDay[a] = Math.floor(ts / DAY)
      const run = `agent-${a}-run-${session[a]}`
      // an agent's run: each step sends the task and its latest steps (kept short: the last two)
      const s = step[a]!++
      const c = conversation(
        o.seed * 1_000_003 + a * 7919 + session[a]! * 31 + s,
        Math.min(2, s),
        AGENT_SYSTEM,
      )
      const p = cleanPayload({
        id: id(),
        ts,
        customer: '',
        key: '',
        trace: run,
        prompt: '',
        cost: 0,
        agent: `agent-${a}`,
      })
      yield dress(p, {
        model,
        ...c,
        endpoint,
        team: 'platform',
        keyName: `agent-${a}-key`,
        failed,
        agent: `agent-${a}`,
        session: run,
      })
      continue
    }
    const c = pick(cdf, rnd())
    // a new conversation 30% of the time, and after 5 turns
    if (rnd() < 0.3 || turn[c]! >= 5) {
      convo[c]!++
      turn[c] = 0
    }
    const t = turn[c]!++
    const keys = (c % 3) + 1
    const customer = `cust-${c}`
    const system = SYSTEMS[c % SYSTEMS.length]!
    const conv = conversation(o.seed * 2_000_003 + c * 104_729 + convo[c]! * 613, t, system)
    const p = cleanPayload({
      id: id(),
      ts,
      customer,
      key: '',
      trace: `${customer}-conv-${convo[c]}`,
      prompt: '',
      cost: 0,
    })
    yield dress(p, {
      model,
      ...conv,
      endpoint,
      team: `team-${c % TEAMS}`,
      keyName: `${customer}-key-${Math.floor(rnd() * keys)}`,
      failed,
    })
  }
  while (next < planted.length) yield plantedPayload(planted[next++]!, id(), rnd)
}

function plantedPayload(x: { ts: number; inc: PlantedIncident; i: number }, id: string, rnd: Rnd): Payload {
  const { inc } = x
  const p = cleanPayload({
    id,
    ts: x.ts,
    customer: inc.customer,
    key: '',
    trace: inc.trace,
    prompt: '',
    cost: 0,
    ...(inc.agent ? { agent: inc.agent } : {}),
  })
  const c = inc.repeatedPrompt
    ? {
        messages: [
          { role: 'system', content: SYSTEMS[0]! },
          { role: 'user', content: inc.repeatedPrompt },
        ],
        reply: 'Here is the summary of ticket 4711 and its open questions.',
      }
    : conversation(Math.floor(rnd() * 2 ** 31), x.i % 3, inc.agent ? AGENT_SYSTEM : SYSTEMS[1]!)
  return dress(p, {
    model: MODELS[0]!,
    ...c,
    endpoint: 'support/chat/completions',
    team: inc.agent ? 'platform' : 'team-planted',
    keyName: inc.key,
    failed: false,
    cost: inc.costEach,
    ...(inc.agent ? { agent: inc.agent, session: inc.trace } : {}),
  })
}

/** Every payload's JSON (one object each: what a Kafka message carries, and the parse ceiling's input). */
export function trafficJson(opts: TrafficOptions): string[] {
  const out: string[] = []
  for (const p of trafficPayloads(opts)) out.push(JSON.stringify(p))
  return out
}

/** A JSON array of payloads from their JSON strings (byte for byte what JSON.stringify of the array gives). */
export const jsonArray = (items: readonly string[]): string => `[${items.join(',')}]`
