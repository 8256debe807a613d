import { fixture } from './paths.js'

type Payload = Record<string, unknown>

/** One LLM call, the ground truth every source describes in its own format. */
export interface Call {
  /** LiteLLM's `litellm_call_id`; OTel spans get their own trace/span ids. */
  id: string
  /** '' = unattributed. */
  customer: string
  model: string
  provider: string
  endpoint: string
  /** '' = no agent. */
  agent: string
  session: string
  /** Start, epoch ms; never on a whole second, so no source's rounding can move it across an hour. */
  ts: number
  durationMs: number
  input: number
  output: number
  cached: number
  /** USD with full double precision (more decimals than the store's 10). */
  cost: number
  failed: boolean
  errorType: string
  httpStatus: number
}

/** Start of the first hour the calls fall in (about 3.5 hours from here for 10,000 calls). */
export const CALLS_BASE_MS = Date.UTC(2025, 2, 4, 8)

const MODELS = [
  { model: 'gpt-4o', provider: 'openai', inPrice: 2.5, outPrice: 10 },
  { model: 'gpt-4o-mini', provider: 'openai', inPrice: 0.15, outPrice: 0.6 },
  { model: 'claude-3-5-sonnet-20241022', provider: 'anthropic', inPrice: 3, outPrice: 15 },
  { model: 'gemini-1.5-pro', provider: 'vertex_ai', inPrice: 1.25, outPrice: 5 },
  { model: 'mistral-large-latest', provider: 'mistral', inPrice: 2, outPrice: 6 },
] as const
const ENDPOINTS = ['/chat', '/summarize', '/search', '/v1/agents/run', '/support/reply'] as const
const AGENTS = ['', '', 'planner', 'coder', 'reviewer', 'support-triage'] as const
const ERRORS = [
  { type: 'RateLimitError', http: 429 },
  { type: 'Timeout', http: 408 },
  { type: 'BadRequestError', http: 400 },
  { type: 'ServiceUnavailableError', http: 503 },
] as const

/** 49 named customers (quotes, unicode, slashes included) and '' for unattributed calls. */
export const CUSTOMERS: readonly string[] = [
  'acme',
  'globex',
  "o'reilly",
  'Müller & Söhne',
  'tenant/eu-west',
  '',
  ...Array.from({ length: 44 }, (_, k) => `cust-${String(k + 1).padStart(3, '0')}`),
]

/** Deterministic PRNG (mulberry32): the same calls on every run. */
function prng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * `n` deterministic calls: customers Zipf-weighted (a few heavy, a long tail, '' among them), ~7% failures
 * (cost 0, some with input tokens), ~3% zero-cost successes (cache hits), ~1% expensive long-context calls,
 * cached prompt tokens on a quarter of the successes, costs with 15+ significant digits.
 */
export function callSet(n = 10_000, seed = 20_250_304): Call[] {
  const rnd = prng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
  const weights = CUSTOMERS.map((_, k) => 1 / (k + 1))
  const total = weights.reduce((a, b) => a + b, 0)
  const customer = () => {
    let r = rnd() * total
    for (let k = 0; k < CUSTOMERS.length; k++) if ((r -= weights[k]!) < 0) return CUSTOMERS[k]!
    return CUSTOMERS.at(-1)!
  }
  return Array.from({ length: n }, (_, i): Call => {
    const m = pick(MODELS)
    const failed = rnd() < 0.07
    const cacheHit = !failed && rnd() < 0.03
    const long = !failed && rnd() < 0.01
    const error = pick(ERRORS)
    const input = failed && rnd() < 0.5 ? 0 : Math.floor((long ? 100_000 : 50) + rnd() * 6_000)
    const output = failed ? 0 : 5 + Math.floor(rnd() * 1_200)
    const cached = !failed && rnd() < 0.25 ? Math.floor(input * 0.4) : 0
    const cost =
      failed || cacheHit ? 0 : ((input * m.inPrice + output * m.outPrice) / 1e6) * (0.9 + 0.2 * rnd())
    return {
      id: `3p-${seed}-${i}`,
      customer: customer(),
      model: m.model,
      provider: m.provider,
      endpoint: pick(ENDPOINTS),
      agent: pick(AGENTS),
      session: `sess-${Math.floor(i / 7)}`,
      ts: CALLS_BASE_MS + i * 1_250 + 125,
      durationMs: 200 + Math.floor(rnd() * 5_000),
      input,
      output,
      cached,
      cost,
      failed,
      errorType: failed ? error.type : '',
      httpStatus: failed ? error.http : 200,
    }
  })
}

let success: Payload | undefined
let failure: Payload | undefined

/** The call as LiteLLM's `StandardLoggingPayload` (the captured-shape fixtures, fields replaced). */
export function litellmPayloadOf(c: Call): Payload {
  success ??= fixture<Payload>('litellm/standard-logging-payload-success.json')
  failure ??= fixture<Payload>('litellm/standard-logging-payload-failure.json')
  const p = structuredClone(c.failed ? failure : success)
  const md = p.metadata as Payload
  const start = c.ts / 1000
  Object.assign(p, {
    id: `chatcmpl-${c.id}`,
    litellm_call_id: c.id,
    trace_id: `trace-${c.id}`,
    status: c.failed ? 'failure' : 'success',
    response_cost: c.cost,
    custom_llm_provider: c.provider,
    model: c.model,
    model_group: c.model,
    prompt_tokens: c.input,
    completion_tokens: c.output,
    total_tokens: c.input + c.output,
    startTime: start,
    endTime: start + c.durationMs / 1000,
    completionStartTime: start + Math.min(c.durationMs, 150) / 1000,
    end_user: c.customer,
    model_parameters: { ...(p.model_parameters as Payload), user: c.customer || undefined },
  })
  if (p.cost_breakdown) (p.cost_breakdown as Payload).total_cost = c.cost
  if (p.hidden_params) (p.hidden_params as Payload).response_cost = c.cost
  md.user_api_key_end_user_id = c.customer || null
  md.spend_logs_metadata = {
    endpoint: c.endpoint,
    session: c.session,
    ...(c.agent ? { agent: c.agent } : {}),
  }
  md.requester_custom_headers = c.agent ? { 'x-agent-name': c.agent } : {}
  md.usage_object = {
    prompt_tokens: c.input,
    completion_tokens: c.output,
    total_tokens: c.input + c.output,
    prompt_tokens_details: { cached_tokens: c.cached },
  }
  if (c.failed) {
    p.error_information = {
      ...(p.error_information as Payload),
      error_code: String(c.httpStatus),
      error_class: c.errorType,
      llm_provider: c.provider,
    }
    p.error_str = `litellm.${c.errorType}: ${c.provider} answered ${c.httpStatus}`
  }
  return p
}

/** An OTel GenAI client span for the call: what an instrumented app would record with the OTel SDK. */
export interface GenAiSpan {
  name: string
  startMs: number
  endMs: number
  attributes: Record<string, string | number>
  /** Status ERROR with this `error.type`. */
  error?: string
}

/**
 * The call as a GenAI span (current semantic conventions): model, provider, tokens, cost as
 * `gen_ai.usage.cost` (always set, also 0: without it Gatewarden would price the tokens), customer as
 * `user.id`, agent as `gen_ai.agent.name`, endpoint as `http.route`, session as `gen_ai.conversation.id`.
 */
export function genAiSpanOf(c: Call): GenAiSpan {
  const attributes: Record<string, string | number> = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': c.provider,
    'gen_ai.request.model': c.model,
    'gen_ai.response.model': c.model,
    'gen_ai.usage.input_tokens': c.input,
    'gen_ai.usage.output_tokens': c.output,
    'gen_ai.usage.cache_read.input_tokens': c.cached,
    'gen_ai.usage.cost': c.cost,
    'gen_ai.conversation.id': c.session,
    'http.route': c.endpoint,
  }
  if (c.customer) attributes['user.id'] = c.customer
  if (c.agent) attributes['gen_ai.agent.name'] = c.agent
  if (c.failed) {
    attributes['error.type'] = c.errorType
    attributes['http.response.status_code'] = c.httpStatus
  }
  return {
    name: `chat ${c.model}`,
    startMs: c.ts,
    endMs: c.ts + c.durationMs,
    attributes,
    ...(c.failed ? { error: c.errorType } : {}),
  }
}

/** What the cost API reports per group. */
export interface Totals {
  cost_usd: number
  requests: number
  failures: number
  input_tokens: number
  output_tokens: number
  cached_tokens: number
}

/** The calls summed per group key (the ledger the stores must match). */
export function totalsBy(calls: readonly Call[], key: (c: Call) => string): Map<string, Totals> {
  const out = new Map<string, Totals>()
  for (const c of calls) {
    const t = out.get(key(c)) ?? {
      cost_usd: 0,
      requests: 0,
      failures: 0,
      input_tokens: 0,
      output_tokens: 0,
      cached_tokens: 0,
    }
    t.cost_usd += c.cost
    t.requests++
    t.failures += c.failed ? 1 : 0
    t.input_tokens += c.input
    t.output_tokens += c.output
    t.cached_tokens += c.cached
    out.set(key(c), t)
  }
  return out
}
