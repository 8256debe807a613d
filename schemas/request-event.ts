import { z } from 'zod'

/** Where an event entered Gatewarden. */
export const EventSource = z.enum(['litellm_http', 'kafka', 'otlp'])
export type EventSource = z.infer<typeof EventSource>

/** Outcome of the LLM call as the gateway saw it. */
export const RequestStatus = z.enum(['success', 'failure'])
export type RequestStatus = z.infer<typeof RequestStatus>

/** Earliest and latest instants we accept for an event (epoch ms): 2000-01-01 .. 2100-01-01. */
export const MIN_EVENT_TS_MS = Date.UTC(2000, 0, 1)
export const MAX_EVENT_TS_MS = Date.UTC(2100, 0, 1)

/** Epoch milliseconds (UTC). Accepts an ISO-8601 string or a number of epoch ms on the wire. */
export const EpochMs = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() !== '' && Number.isNaN(Number(v)) ? Date.parse(v) : v),
  z.coerce
    .number()
    .int()
    .min(MIN_EVENT_TS_MS, 'timestamp before 2000-01-01: not epoch milliseconds')
    .max(MAX_EVENT_TS_MS, 'timestamp after 2100-01-01: not epoch milliseconds'),
)

const Count = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1)
const Text = z.string().max(1024)

/**
 * The one canonical request event every source maps into (LiteLLM HTTP, Kafka, OTLP).
 * Identity: `event_id` is the dedupe key; the store counts each `event_id` once.
 * Empty string means "unknown" for every text field (ClickHouse columns are not Nullable).
 */
export const RequestEvent = z.object({
  event_id: z.string().min(1).max(256),
  ts: EpochMs,
  end_ts: EpochMs,
  duration_ms: Count,
  ttft_ms: Count.nullable(),
  source: EventSource,
  gateway: Text,
  customer: Text,
  team: Text,
  team_alias: Text,
  user: Text,
  api_key_hash: Text,
  api_key_alias: Text,
  endpoint: Text,
  agent: Text,
  /** The customer's tier (`pro`, `free`, ...): from the payload (`attribution.tier`) or set through `/api/customers`. */
  tier: Text,
  trace_id: Text,
  session_id: Text,
  provider: Text,
  call_type: Text,
  model_requested: Text,
  model: Text,
  input_tokens: Count,
  output_tokens: Count,
  cached_tokens: Count,
  cost_usd: z.number().finite().min(0).max(1_000_000),
  cache_hit: z.boolean(),
  status: RequestStatus,
  error_type: Text,
  http_status: z.number().int().min(0).max(999),
  fingerprint: z.string().max(64),
  tags: z.array(Text).max(64),
  metadata: z.record(z.string().max(256), z.string().max(4096)),
  /** Prompt text, only when `privacy.store_prompts` is on (truncated); otherwise empty. */
  request_text: z.string(),
  /** Response text, only when `privacy.store_prompts` is on (truncated); otherwise empty. */
  response_text: z.string(),
})
export type RequestEvent = z.infer<typeof RequestEvent>

/** The fields a source must provide; the rest default to "unknown". Used by the canonical JSON wire format. */
export const RequestEventInput = RequestEvent.partial().required({
  event_id: true,
  ts: true,
  source: true,
})
export type RequestEventInput = z.infer<typeof RequestEventInput>

/** Every field a source may omit, at its "unknown" value ('' or 0). */
export type EventDefaults = Omit<RequestEvent, 'event_id' | 'ts' | 'end_ts' | 'duration_ms' | 'source'>

/**
 * The "unknown" value of every field a source may omit, as a fresh object (tags and metadata are not
 * shared). Spread it first, then set what is known; no parsing, so stream generators can use it too.
 */
export function eventDefaults(): EventDefaults {
  return {
    ttft_ms: null,
    gateway: '',
    customer: '',
    team: '',
    team_alias: '',
    user: '',
    api_key_hash: '',
    api_key_alias: '',
    endpoint: '',
    agent: '',
    tier: '',
    trace_id: '',
    session_id: '',
    provider: '',
    call_type: '',
    model_requested: '',
    model: '',
    input_tokens: 0,
    output_tokens: 0,
    cached_tokens: 0,
    cost_usd: 0,
    cache_hit: false,
    status: 'success',
    error_type: '',
    http_status: 0,
    fingerprint: '',
    tags: [],
    metadata: {},
    request_text: '',
    response_text: '',
  }
}

/** Fills the defaults of a partial canonical event; the result still goes through `RequestEvent.parse`. */
export function withEventDefaults(e: RequestEventInput): RequestEvent {
  const end = e.end_ts ?? e.ts
  return RequestEvent.parse({ ...eventDefaults(), end_ts: end, duration_ms: Math.max(0, end - e.ts), ...e })
}
