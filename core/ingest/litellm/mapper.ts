import { StandardLoggingPayload } from '../../../schemas/litellm-payload.js'
import type { EventSource } from '../../../schemas/request-event.js'
import type { AttributionConfig, PrivacyConfig } from '../../../schemas/config.js'
import { toEvent, type MapResult } from '../event-result.js'
import { firstOf } from '../field-path.js'
import { MetadataBuilder } from '../labels.js'
import { GUARDRAIL_REQUESTED_MODEL, requestFingerprint, promptText } from '../fingerprint.js'
import { readInstant } from '../timestamps.js'

/** What the mapper needs besides the payload. */
export interface MapperOptions {
  source: EventSource
  gateway: string
  attribution: AttributionConfig
  privacy: PrivacyConfig
}

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '')
const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
const count = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v) : 0

/** Cached prompt tokens: OpenAI-style `prompt_tokens_details.cached_tokens` or Anthropic `cache_read_input_tokens`. */
function cachedTokens(p: StandardLoggingPayload): number {
  const md = obj(p.metadata)
  for (const usage of [md.usage_object, obj(p.hidden_params).usage_object, obj(p.response).usage]) {
    const u = obj(usage)
    const n = count(obj(u.prompt_tokens_details).cached_tokens) || count(u.cache_read_input_tokens)
    if (n > 0) return n
  }
  return 0
}

/** A few routing facts, then `spend_logs_metadata` (core/ingest/labels.ts: first wins, secrets dropped). */
function metadataMap(p: StandardLoggingPayload, extra: Record<string, string>): Record<string, string> {
  return new MetadataBuilder()
    .put('response_id', p.id)
    .put('model_id', p.model_id)
    .put('api_base', p.api_base)
    .putAll(extra)
    .putAll(obj(p.metadata).spend_logs_metadata)
    .build()
}

/** HTTP status of a failure from `error_information.error_code` ("429", 500...), 200 on success. */
function httpStatus(p: StandardLoggingPayload, failed: boolean): number {
  if (!failed) return 200
  const code = Number(p.error_information?.error_code)
  return Number.isInteger(code) && code >= 100 && code <= 599 ? code : 0
}

/**
 * Maps one LiteLLM `StandardLoggingPayload` to the canonical event.
 * Rejected (dead-lettered): not an object, no id, unreadable or out-of-range start time,
 * negative / NaN / non-numeric cost, unknown status. Long labels are cut, not rejected (core/ingest/labels.ts).
 */
export function mapLiteLLMPayload(raw: unknown, opts: MapperOptions): MapResult {
  const parsed = StandardLoggingPayload.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return {
      ok: false,
      reason: `invalid payload at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      code: issue?.path.length === 0 ? 'GW_DL_NOT_OBJECT' : 'GW_DL_INVALID',
    }
  }
  const p = parsed.data
  // litellm_call_id is LiteLLM's per-call UUID; `id` is the provider's response id, which is not unique
  // (mock and some provider ids are constant, cache hits reuse it), so it is only the fallback
  const eventId = p.litellm_call_id || p.id
  if (!eventId) return { ok: false, reason: 'missing id and litellm_call_id', code: 'GW_DL_NO_ID' }

  const start = readInstant(p.startTime)
  if (!start.ok) return { ok: false, reason: `startTime ${start.reason}`, code: 'GW_DL_BAD_TIME' }
  const endRead = p.endTime === null || p.endTime === undefined ? start : readInstant(p.endTime)
  if (!endRead.ok) return { ok: false, reason: `endTime ${endRead.reason}`, code: 'GW_DL_BAD_TIME' }
  const end = Math.max(endRead.ms, start.ms)
  const firstToken =
    p.completionStartTime === null || p.completionStartTime === undefined
      ? null
      : readInstant(p.completionStartTime)
  const ttft = firstToken?.ok && firstToken.ms >= start.ms ? firstToken.ms - start.ms : null

  let cost = 0
  if (p.response_cost !== null && p.response_cost !== undefined) {
    cost =
      typeof p.response_cost === 'string' && p.response_cost.trim() !== ''
        ? Number(p.response_cost)
        : (p.response_cost as number)
    if (typeof cost !== 'number' || !Number.isFinite(cost))
      return {
        ok: false,
        reason: `response_cost is not a finite number: ${JSON.stringify(p.response_cost)}`,
        code: 'GW_DL_BAD_NUMBER',
      }
    if (cost < 0) return { ok: false, reason: `response_cost is negative: ${cost}`, code: 'GW_DL_BAD_NUMBER' }
  }

  const status = p.status ?? 'success'
  if (status !== 'success' && status !== 'failure')
    return { ok: false, reason: `unknown status: ${JSON.stringify(status)}`, code: 'GW_DL_INVALID' }
  const failed = status === 'failure'

  const md = obj(p.metadata)
  const tags = (p.request_tags ?? []).filter((t): t is string => typeof t === 'string' && t !== '')
  const a = opts.attribution
  const modelRequested = p.model_group || p.model || ''
  // fingerprinted on the model the client asked for, even when the guardrail downgraded the call
  const askedFor = str(obj(md.spend_logs_metadata)[GUARDRAIL_REQUESTED_MODEL]) || modelRequested
  const params = obj(p.model_parameters)
  const maxChars = opts.privacy.max_prompt_chars
  const units = [start.unit, endRead.unit].filter((u) => u !== 's')

  return toEvent({
    event_id: eventId,
    ts: start.ms,
    end_ts: end,
    duration_ms: end - start.ms,
    ttft_ms: ttft,
    source: opts.source,
    gateway: opts.gateway,
    customer: firstOf(p, a.customer, tags),
    team: str(md.user_api_key_team_id) || str(md.team_id),
    team_alias: str(md.user_api_key_team_alias) || str(md.team_alias),
    user: str(md.user_api_key_user_id),
    api_key_hash: str(md.user_api_key_hash),
    api_key_alias: str(md.user_api_key_alias),
    endpoint: firstOf(p, a.endpoint, tags),
    agent: firstOf(p, a.agent, tags),
    tier: firstOf(p, a.tier, tags),
    trace_id: p.trace_id ?? '',
    session_id: firstOf(p, a.session, tags) || str(md.session_id),
    provider: p.custom_llm_provider || p.error_information?.llm_provider || '',
    call_type: p.call_type ?? '',
    model_requested: modelRequested,
    model: p.model || modelRequested,
    input_tokens: count(p.prompt_tokens),
    output_tokens: count(p.completion_tokens),
    cached_tokens: cachedTokens(p),
    cost_usd: cost,
    cache_hit: p.cache_hit === true,
    status,
    error_type: failed ? p.error_information?.error_class || 'unknown' : '',
    http_status: httpStatus(p, failed),
    fingerprint: requestFingerprint(askedFor, p.messages, params.tools ?? params.functions),
    tags,
    metadata: metadataMap(p, units.length ? { gw_timestamp_unit: units.join(',') } : {}),
    request_text: opts.privacy.store_prompts ? promptText(p.messages).slice(0, maxChars) : '',
    response_text: opts.privacy.store_prompts ? responseText(p.response).slice(0, maxChars) : '',
  })
}

/** Assistant text of an OpenAI-shaped response (choices[].message.content), else its JSON. */
function responseText(response: unknown): string {
  const choices = obj(response).choices
  if (Array.isArray(choices)) {
    return choices.map((c: unknown) => str(obj(obj(c).message).content) || str(obj(c).text)).join('\n')
  }
  return typeof response === 'string' ? response : response ? JSON.stringify(response) : ''
}
