import type { OtelAttributionConfig } from '../../../schemas/otel-attribution.js'
import type { PrivacyConfig } from '../../../schemas/config.js'
import type { OtlpSpan } from '../../../schemas/otlp-trace.js'
import { MAX_EVENT_TS_MS, MIN_EVENT_TS_MS, type EventSource } from '../../../schemas/request-event.js'
import { toEvent, type MapResult } from '../event-result.js'
import { MetadataBuilder, tagValue } from '../labels.js'
import { GUARDRAIL_REQUESTED_MODEL, requestFingerprint, promptText } from '../fingerprint.js'
import {
  CACHED_TOKEN_KEYS,
  COST_KEYS,
  COST_PAIRS,
  INPUT_TOKEN_KEYS,
  OUTPUT_TOKEN_KEYS,
  TOTAL_TOKEN_KEYS,
  readAmount,
  readCount,
} from './llm-span.js'
import {
  isLiteLLMSpan,
  litellmCacheHit,
  litellmCachedTokens,
  litellmHidden,
  litellmTags,
} from './litellm-span.js'
import { inputMessages, outputText, toolDefinitions } from './messages.js'
import { attributeRecord, nanosToMs, type AttrValue } from './values.js'
import { findPrice, tokenCost, type PriceTable } from '../../pricing.js'
import { scalarText, unpack, type SpanAttributes } from './span-attributes.js'

/** What the OTLP mapper needs besides the request. */
export interface OtlpMapperOptions {
  /** `otlp` for POST /v1/traces; `kafka` when OTLP JSON arrives on a topic. */
  source: EventSource
  gateway: string
  attribution: OtelAttributionConfig
  privacy: PrivacyConfig
  prices: PriceTable
}

/** One span with what the mapper derives before mapping. */
export interface SpanView {
  where: string
  raw: unknown
  span: OtlpSpan
  traceId: string | null
  spanId: string | null
  parentId: string | null
  attrs: SpanAttributes
  resource: SpanAttributes
  scope: string
  llm: boolean
  why: string
  usage: boolean
}

const ERROR_NAMES = new Set(['2', 'STATUS_CODE_ERROR', 'ERROR'])
const DOTTED_CLASS = /^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$/

/** Error class without its module path (`litellm.exceptions.RateLimitError` -> `RateLimitError`), as LiteLLM's payload names it. */
function errorType(v: SpanView): string {
  const fromEvent = (v.span.events ?? [])
    .filter((e) => e.name === 'exception')
    .map((e) => scalarText(attributeRecord(e.attributes)['exception.type']))
    .find((t) => t !== '')
  const t = v.attrs.scalar('error.type') || fromEvent || 'unknown'
  return DOTTED_CLASS.test(t) ? t.slice(t.lastIndexOf('.') + 1) : t
}

function httpStatus(a: SpanAttributes, failed: boolean): number {
  for (const k of ['http.response.status_code', 'error.code', 'http.status_code']) {
    const n = Number(a.scalar(k))
    if (Number.isInteger(n) && n >= 100 && n <= 599) return n
  }
  return failed ? 0 : 200
}

/**
 * A few routing facts and the span's own names, then LiteLLM's spend_logs_metadata, then the resource
 * attributes (core/ingest/labels.ts: first wins, secrets dropped).
 */
function metadataMap(v: SpanView, extra: Record<string, AttrValue | undefined>): Record<string, string> {
  return new MetadataBuilder()
    .putAll(extra)
    .put('otel.span_name', v.span.name ?? '')
    .put('otel.scope', v.scope)
    .putAll(unpack(v.attrs.structured('metadata.spend_logs_metadata')))
    .putAll(v.resource.record)
    .build()
}

/** A count or amount that could not be read, as a dead-letter result. */
const badNumber = (r: { reason: string }): MapResult => ({
  ok: false,
  reason: r.reason,
  code: 'GW_DL_BAD_NUMBER',
})

/**
 * Maps one LLM span to a RequestEvent (rules in core/ingest/otlp/README.md). `ancestors` (nearest first, same
 * request) feed attribution only. `event_id` is trace id + span id (hex), except on LiteLLM spans:
 * there it is `litellm.call_id`, the id LiteLLM's generic_api payload is stored under.
 * Dead-lettered: invalid ids, missing or out-of-range start, unusable token counts or cost.
 */
export function spanToEvent(v: SpanView, ancestors: readonly SpanView[], opts: OtlpMapperOptions): MapResult {
  if (!v.traceId)
    return {
      ok: false,
      reason: `traceId missing or invalid: ${JSON.stringify(v.span.traceId ?? null)}`,
      code: 'GW_DL_NO_ID',
    }
  if (!v.spanId)
    return {
      ok: false,
      reason: `spanId missing or invalid: ${JSON.stringify(v.span.spanId ?? null)}`,
      code: 'GW_DL_NO_ID',
    }
  const start = nanosToMs(v.span.startTimeUnixNano)
  if (start === null)
    return { ok: false, reason: 'startTimeUnixNano missing, zero or not an integer', code: 'GW_DL_BAD_TIME' }
  if (start < MIN_EVENT_TS_MS || start > MAX_EVENT_TS_MS) {
    return {
      ok: false,
      reason: `startTimeUnixNano out of range (${new Date(start).toISOString()}): not epoch nanoseconds`,
      code: 'GW_DL_BAD_TIME',
    }
  }
  const end = Math.max(nanosToMs(v.span.endTimeUnixNano) ?? start, start)
  const a = v.attrs

  const input = readCount(a, INPUT_TOKEN_KEYS)
  if (!input.ok) return badNumber(input)
  const output = readCount(a, OUTPUT_TOKEN_KEYS)
  if (!output.ok) return badNumber(output)
  const total = readCount(a, TOTAL_TOKEN_KEYS)
  if (!total.ok) return badNumber(total)
  const cachedRead = readCount(a, CACHED_TOKEN_KEYS)
  if (!cachedRead.ok) return badNumber(cachedRead)
  const totalOnly = input.key === null && output.key === null && total.value > 0
  const tokens = {
    input: totalOnly ? total.value : input.value,
    output: output.value,
    cached: cachedRead.key !== null ? cachedRead.value : litellmCachedTokens(a),
  }

  const litellm = isLiteLLMSpan(a)
  const hidden = litellm ? litellmHidden(a) : {}
  const providerModel = a.scalar('litellm.provider.model')
  const modelRequested =
    a.scalar('litellm.model_group') ||
    a.scalar('gen_ai.request.model') ||
    a.scalar('llm.request.model') ||
    a.scalar('llm.model_name') ||
    a.scalar('gen_ai.response.model')
  const model =
    providerModel ||
    a.scalar('gen_ai.response.model') ||
    a.scalar('llm.response.model') ||
    a.scalar('llm.model_name') ||
    a.scalar('gen_ai.request.model') ||
    modelRequested
  const provider =
    a.scalar('gen_ai.provider.name') ||
    a.scalar('gen_ai.system') ||
    a.scalar('llm.provider') ||
    a.scalar('llm.system') ||
    (providerModel.includes('/') ? providerModel.slice(0, providerModel.indexOf('/')) : '') ||
    a.scalar('error.llm_provider')

  // cost: the sender's own figure when present, else the price table
  let cost = readAmount(a, COST_KEYS)
  if (!cost.ok) return badNumber(cost)
  let costSource = cost.key ? `attribute:${cost.key}` : ''
  for (const pair of COST_PAIRS) {
    if (cost.value !== null) break
    const [p, c] = [readAmount(a, [pair[0]]), readAmount(a, [pair[1]])]
    if (!p.ok) return badNumber(p)
    if (!c.ok) return badNumber(c)
    if (p.value !== null || c.value !== null) {
      cost = { ok: true, value: (p.value ?? 0) + (c.value ?? 0), key: pair.join('+') }
      costSource = `attribute:${pair.join('+')}`
    }
  }
  let usd = cost.value
  if (
    usd === null &&
    typeof hidden.response_cost === 'number' &&
    Number.isFinite(hidden.response_cost) &&
    hidden.response_cost >= 0
  ) {
    usd = hidden.response_cost
    costSource = 'attribute:hidden_params.response_cost'
  }
  const code = v.span.status?.code
  const failed =
    (code !== undefined && code !== null && ERROR_NAMES.has(String(code).toUpperCase())) ||
    a.has('error.type')

  if (usd === null && failed) {
    // providers do not bill a failed call; LiteLLM reports 0 for it, and so do we unless the span says otherwise
    usd = 0
    costSource = 'failed_call'
  }
  if (usd === null) {
    const hit = findPrice(
      opts.prices,
      [model, modelRequested].filter((m) => m !== ''),
    )
    usd = hit ? tokenCost(hit.price, tokens) : 0
    costSource = hit
      ? `${hit.from === 'override' ? 'pricing_override' : 'price_table'}:${hit.key}`
      : 'unpriced'
  }

  // attribution: each path on the span, then its ancestors (nearest first), then the resource
  const levels = [a, ...ancestors.map((x) => x.attrs), v.resource]
  const tags = [...new Set([a, ...ancestors.map((x) => x.attrs)].flatMap(litellmTags).concat(tagList(a)))]
  const pick = (paths: readonly string[]): string => {
    for (const path of paths) {
      if (path === 'span:name') {
        if (v.span.name) return v.span.name
        continue
      }
      if (path.startsWith('tag:')) {
        const hit = tagValue(tags, path.slice(4))
        if (hit !== '') return hit
        continue
      }
      for (const level of levels) {
        const t = level.text(path)
        if (t !== '') return t
      }
    }
    return ''
  }
  const attr = (...keys: string[]) => pick(keys)
  const at = opts.attribution
  const messages = inputMessages(a)
  // fingerprinted on the model the client asked for, even when the guardrail downgraded the call
  const askedFor = attr(`metadata.spend_logs_metadata.${GUARDRAIL_REQUESTED_MODEL}`) || modelRequested
  const maxChars = opts.privacy.max_prompt_chars

  return toEvent({
    // LiteLLM's per-call id, as its generic_api payload is keyed: a call reported by both callbacks counts once
    event_id: (litellm && a.scalar('litellm.call_id')) || `${v.traceId}${v.spanId}`,
    ts: start,
    end_ts: end,
    duration_ms: end - start,
    ttft_ms: null,
    source: opts.source,
    gateway: opts.gateway,
    customer: pick(at.customer),
    team: attr('metadata.user_api_key_team_id', 'metadata.team_id'),
    team_alias: attr('metadata.user_api_key_team_alias', 'metadata.team_alias'),
    user: attr('metadata.user_api_key_user_id', 'user.id', 'enduser.id'),
    api_key_hash: attr('metadata.user_api_key_hash'),
    api_key_alias: attr('metadata.user_api_key_alias'),
    endpoint: pick(at.endpoint),
    agent: pick(at.agent),
    tier: pick(at.tier),
    trace_id: v.traceId,
    session_id: pick(at.session),
    provider,
    call_type:
      a.scalar('llm.request.type') ||
      a.scalar('gen_ai.operation.name') ||
      a.scalar('openinference.span.kind').toLowerCase(),
    model_requested: modelRequested,
    model,
    input_tokens: tokens.input,
    output_tokens: tokens.output,
    cached_tokens: tokens.cached,
    cost_usd: usd,
    cache_hit: litellm && litellmCacheHit(a),
    status: failed ? 'failure' : 'success',
    error_type: failed ? errorType(v) : '',
    http_status: httpStatus(a, failed),
    fingerprint: messages ? requestFingerprint(askedFor, messages, toolDefinitions(a)) : '',
    tags,
    metadata: metadataMap(v, {
      litellm_call_id: a.get('litellm.call_id'),
      'otel.span_id': v.spanId,
      model_id: hidden.model_id,
      api_base: hidden.api_base,
      gw_cost_source: costSource,
      gw_tokens: totalOnly ? 'total_only' : undefined,
    }),
    request_text: opts.privacy.store_prompts && messages ? promptText(messages).slice(0, maxChars) : '',
    response_text: opts.privacy.store_prompts ? outputText(a).slice(0, maxChars) : '',
  })
}

/** OpenInference `tag.tags` (a string array). */
function tagList(a: SpanAttributes): string[] {
  const v = unpack(a.get('tag.tags'))
  return Array.isArray(v) ? v.map(scalarText).filter((t) => t !== '') : []
}
