import type { AttrValue } from './values.js'
import { scalarText, unpack, type SpanAttributes } from './span-attributes.js'

/**
 * What LiteLLM's `otel` callback puts on its span beyond the GenAI conventions (verified on the
 * captures in test/fixtures/otlp): `litellm.*` keys, `hidden_params` (a JSON string), and every
 * StandardLoggingPayload metadata key as `metadata.<key>`, non-scalar values as Python reprs.
 */

const record = (v: AttrValue | undefined): Record<string, AttrValue> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {}

/** True when the span was written by LiteLLM (its call id or model group is present). */
export function isLiteLLMSpan(a: SpanAttributes): boolean {
  return a.has('litellm.call_id') || a.has('litellm.model_group')
}

/** `hidden_params` as a record (model_id, api_base, response_cost, cache_key...); {} when absent. */
export function litellmHidden(a: SpanAttributes): Record<string, AttrValue> {
  return record(a.structured('hidden_params'))
}

/**
 * Request tags as LiteLLM's generic payload has them in `request_tags`: `tags` of the request metadata
 * (`metadata.requester_metadata`, or `metadata.tags`) and the comma-separated `x-litellm-tags` header.
 */
export function litellmTags(a: SpanAttributes): string[] {
  const out: string[] = []
  const add = (v: AttrValue | undefined) => {
    const list = unpack(v)
    if (Array.isArray(list)) for (const t of list) out.push(scalarText(t))
    else if (typeof list === 'string') for (const t of list.split(',')) out.push(t.trim())
  }
  add(a.path('metadata.tags'))
  add(a.path('metadata.requester_metadata.tags'))
  add(a.path('metadata.requester_custom_headers.x-litellm-tags'))
  return out.filter((t) => t !== '')
}

/** Cached prompt tokens from `metadata.usage_object` (OpenAI `prompt_tokens_details.cached_tokens` or Anthropic `cache_read_input_tokens`). */
export function litellmCachedTokens(a: SpanAttributes): number {
  const usage = record(a.structured('metadata.usage_object'))
  for (const v of [record(usage.prompt_tokens_details).cached_tokens, usage.cache_read_input_tokens]) {
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.round(v)
  }
  return 0
}

/** True for a LiteLLM cache hit: LiteLLM sets `hidden_params.cache_key` only when the response came from its cache. */
export function litellmCacheHit(a: SpanAttributes): boolean {
  const key = litellmHidden(a).cache_key
  return typeof key === 'string' && key !== ''
}
