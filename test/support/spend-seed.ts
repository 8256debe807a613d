import { deadLetter, type DeadLetter } from '../../schemas/dead-letter.js'
import { withEventDefaults, type RequestEvent } from '../../schemas/request-event.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
/**
 * Midnight (UTC) four days ago. Seeded times are relative to it, so they stay inside the store's TTLs
 * (dead letters are kept 90 days) whenever the test runs; the events themselves are the same every run.
 */
export const ANCHOR = Math.floor(Date.now() / DAY) * DAY - 4 * DAY
/** Seeded events span [SEED_FROM, SEED_TO): four days around the 3-day main range [ANCHOR, ANCHOR + 3d). */
export const SEED_FROM = ANCHOR - 12 * HOUR
export const SEED_TO = ANCHOR + 3 * DAY + 12 * HOUR
/** Irregular spacing so events land on every minute and second offset (about 900 events). */
const STEP_MS = 377_123

/** Customer "" is unattributed; "o'reilly" checks quoting of variable values. Weights scale spend. */
export const CUSTOMERS: readonly { name: string; weight: number; tier: string }[] = [
  { name: 'acme', weight: 6, tier: 'enterprise' },
  { name: 'globex', weight: 3, tier: 'pro' },
  { name: "o'reilly", weight: 2, tier: 'pro' },
  { name: '', weight: 1.5, tier: '' },
  { name: 'initech', weight: 1, tier: 'free' },
]
export const TEAMS = ['platform', 'growth', ''] as const
export const MODELS = [
  { model: 'gpt-4o', provider: 'openai', price: 5 },
  { model: 'gpt-4o-mini', provider: 'openai', price: 0.5 },
  { model: 'claude-3-5-sonnet', provider: 'anthropic', price: 4 },
] as const
export const ENDPOINTS = ['/chat', '/summarize', '/search', ''] as const
export const AGENTS = ['', '', 'planner', 'coder', 'reviewer'] as const
/** Key "h-worker" is renamed at RENAME_AT (an hour boundary); "" is a request without a key. */
export const KEYS = [
  { hash: 'h-backend', alias: 'prod-backend' },
  { hash: 'h-worker', alias: 'prod-worker' },
  { hash: 'h-laptop', alias: 'dev-laptop' },
  { hash: 'h-batch', alias: '' },
  { hash: '', alias: '' },
] as const
export const RENAME_AT = ANCHOR + DAY + 12 * HOUR
export const RENAMED_ALIAS = 'prod-worker-v2'
const ERRORS = [
  { type: 'RateLimitError', http: 429 },
  { type: 'Timeout', http: 408 },
  { type: 'BadRequestError', http: 400 },
] as const

/** Deterministic PRNG (mulberry32), so every run seeds the same events. */
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
 * The seeded request events: every dimension varies independently, ~8% fail (cost 0, an error type),
 * ~10% are response-cache hits (cost 0), ~30% of the rest read prompt-cache tokens. Events whose id ends
 * in "-again" repeat an earlier call's dimensions a second later.
 */
export function seedEvents(): RequestEvent[] {
  const rnd = prng(20261119)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
  const events: RequestEvent[] = []
  for (let i = 0, ts = SEED_FROM; ts < SEED_TO; i++, ts += STEP_MS) {
    const customer = pick(CUSTOMERS)
    const model = pick(MODELS)
    const key = pick(KEYS)
    const failed = rnd() < 0.08
    const cacheHit = !failed && rnd() < 0.1
    const error = pick(ERRORS)
    const input = 100 + Math.floor(rnd() * 4000)
    const output = failed ? 0 : 10 + Math.floor(rnd() * 800)
    const cached = !failed && rnd() < 0.3 ? Math.floor(input / 2) : 0
    const cost =
      failed || cacheHit
        ? 0
        : Math.round(((input + 3 * output) / 1e6) * model.price * customer.weight * 1e7) / 1e7
    events.push(
      withEventDefaults({
        event_id: `dash-${i}`,
        ts,
        end_ts: ts + 1200,
        source: 'litellm_http',
        gateway: 'litellm',
        customer: customer.name,
        tier: customer.tier,
        team: pick(TEAMS),
        api_key_hash: key.hash,
        api_key_alias: key.hash === 'h-worker' && ts >= RENAME_AT ? RENAMED_ALIAS : key.alias,
        endpoint: pick(ENDPOINTS),
        agent: pick(AGENTS),
        trace_id: `trace-${i}`,
        provider: model.provider,
        model_requested: model.model,
        model: model.model,
        input_tokens: input,
        output_tokens: output,
        cached_tokens: cached,
        cost_usd: cost,
        cache_hit: cacheHit,
        status: failed ? 'failure' : 'success',
        error_type: failed ? error.type : '',
        http_status: failed ? error.http : 200,
      }),
    )
  }
  // every 10th call again a second later with the same dimensions: equal rollup keys, written in a later batch
  const again = events
    .filter((_, i) => i % 10 === 0)
    .map((e) => ({ ...e, event_id: `${e.event_id}-again`, ts: e.ts + 1000, end_ts: e.end_ts + 1000 }))
  return [...events, ...again]
}

/** Dead letters before, inside and after the tests' main range. */
export function seedDeadLetters(): DeadLetter[] {
  const dl = (hours: number, source: string, reason: string, origin: string, raw: string) =>
    deadLetter(raw, {
      source,
      reason,
      code: 'GW_DL_NOT_JSON',
      origin,
      received_at: ANCHOR + Math.round(hours * HOUR),
    })
  return [
    dl(-4, 'litellm_http', 'invalid JSON', 'POST /ingest/litellm item 0', '{"id":'),
    dl(3 + 1 / 6, 'litellm_http', 'invalid JSON', 'POST /ingest/litellm item 2', '{oops'),
    dl(3 + 1 / 3 + 1 / 120, 'litellm_http', 'invalid JSON', 'POST /ingest/litellm item 7', 'not json'),
    dl(38, 'kafka', 'event_id: missing', 'kafka spend/3@1200', '{"ts":1}'),
    dl(71.5, 'otlp', 'span has no model', 'POST /v1/traces span 4', '{"name":"chat"}'),
    dl(73, 'kafka', 'event_id: missing', 'kafka spend/1@77', '{"ts":2}'),
  ]
}
