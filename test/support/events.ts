import { mapLiteLLMPayload } from '../../core/ingest/litellm/mapper.js'
import { AttributionConfig, PrivacyConfig } from '../../schemas/config.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { fixture } from './paths.js'

type Payload = Record<string, unknown>

/** A LiteLLM StandardLoggingPayload built from the success fixture with the given id, customer, cost and time. */
export function litellmPayload(o: {
  id: string
  customer?: string
  cost?: number
  ts?: number
  model?: string
  key?: string
  tokens?: [number, number]
  /** The customer's tier, where LiteLLM puts request metadata (`metadata.spend_logs_metadata`). */
  tier?: string
}): Payload {
  const p = fixture<Payload>('litellm/standard-logging-payload-success.json')
  const start = (o.ts ?? Date.now()) / 1000
  p.id = o.id
  p.litellm_call_id = o.id
  p.end_user = o.customer ?? ''
  ;(p.metadata as Payload).user_api_key_end_user_id = o.customer ?? null
  p.response_cost = o.cost ?? 0.001
  p.startTime = start
  p.endTime = start + 1.5
  p.completionStartTime = start + 0.4
  if (o.model) p.model = p.model_group = o.model
  if (o.key) (p.metadata as Payload).user_api_key_hash = o.key
  if (o.tokens) [p.prompt_tokens, p.completion_tokens] = o.tokens
  if (o.tier !== undefined) {
    const md = p.metadata as Payload
    md.spend_logs_metadata = { ...(md.spend_logs_metadata ?? {}), tier: o.tier }
  }
  return p
}

/** Sum of costs rounded to 10 decimals (the store's precision), for exact comparisons. */
export function round10(x: number): number {
  return Math.round(x * 1e10) / 1e10
}

/** `litellmPayload(o)` mapped to its canonical event, as the generic_api ingest maps it (default config). */
export function litellmEvent(o: Parameters<typeof litellmPayload>[0]): RequestEvent {
  const r = mapLiteLLMPayload(litellmPayload(o), {
    source: 'litellm_http',
    gateway: 'litellm',
    attribution: AttributionConfig.parse({}),
    privacy: PrivacyConfig.parse({}),
  })
  if (!r.ok) throw new Error(`litellmPayload did not map: ${r.reason}`)
  return r.event
}
