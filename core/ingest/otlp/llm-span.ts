import type { SpanAttributes } from './span-attributes.js'

/**
 * Which spans are LLM calls, and the attribute names each convention uses for usage and cost.
 * Lists are in priority order: current GenAI semantic conventions, their older names, OpenInference,
 * OpenLLMetry (Traceloop), then LiteLLM's own.
 */

/** Input (prompt) tokens; GenAI conventions count cached tokens in them. */
export const INPUT_TOKEN_KEYS = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.prompt_tokens',
  'llm.token_count.prompt',
  'llm.usage.prompt_tokens',
] as const
/** Output (completion) tokens. */
export const OUTPUT_TOKEN_KEYS = [
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.completion_tokens',
  'llm.token_count.completion',
  'llm.usage.completion_tokens',
] as const
/** Total tokens: used as input only when a span has neither input nor output counts. */
export const TOTAL_TOKEN_KEYS = [
  'gen_ai.usage.total_tokens',
  'llm.usage.total_tokens',
  'llm.token_count.total',
] as const
/** Cache-read input tokens. */
export const CACHED_TOKEN_KEYS = [
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_read_input_tokens',
  'llm.token_count.prompt_details.cache_read',
] as const
/** A total cost in USD set by the sender (LiteLLM's cost breakdown, Langfuse/OpenLLMetry, OpenInference). */
export const COST_KEYS = [
  'gen_ai.cost.total_cost',
  'gen_ai.cost.response_cost',
  'gen_ai.usage.cost',
  'llm.cost.total',
  'llm.response.cost',
] as const
/** Cost split in two parts, summed when no total is given. */
export const COST_PAIRS = [
  ['llm.cost.prompt', 'llm.cost.completion'],
  ['gen_ai.cost.input_cost', 'gen_ai.cost.output_cost'],
] as const

const MODEL_KEYS = [
  'gen_ai.request.model',
  'gen_ai.response.model',
  'llm.model_name',
  'llm.request.model',
  'llm.response.model',
] as const
const PROVIDER_KEYS = ['gen_ai.provider.name', 'gen_ai.system'] as const
/** GenAI operations that are not a model call themselves: they wrap calls or run tools. */
const NOT_A_CALL_OPERATIONS = new Set(['invoke_agent', 'create_agent', 'execute_tool'])
const OPENINFERENCE_CALL_KINDS = new Set(['LLM', 'EMBEDDING'])
const TRACELOOP_NOT_A_CALL = new Set(['workflow', 'task', 'agent', 'tool'])

/** Every attribute the classification reads starts with one of these. */
const CONVENTION_PREFIXES = ['gen_ai.', 'llm.', 'openinference.', 'traceloop.'] as const

/** Whether a span is an LLM call; when not, why (for logs and tests). */
export type SpanRole = { llm: true } | { llm: false; why: string }

/**
 * Classifies a span. An LLM call names a model or provider, or carries token counts or a cost.
 * Not calls, even with such attributes: OpenInference kinds other than LLM/EMBEDDING (CHAIN, AGENT,
 * TOOL...), Traceloop workflow/task/agent/tool spans, and GenAI `invoke_agent` / `create_agent` /
 * `execute_tool` operations (an agent span's usage is the sum of its calls, which are counted).
 */
export function spanRole(a: SpanAttributes): SpanRole {
  if (!a.hasKeyPrefix(CONVENTION_PREFIXES)) return { llm: false, why: 'no GenAI attributes' }
  const oiKind = a.scalar('openinference.span.kind').toUpperCase()
  if (oiKind !== '')
    return OPENINFERENCE_CALL_KINDS.has(oiKind)
      ? { llm: true }
      : { llm: false, why: `openinference ${oiKind} span` }
  const tlKind = a.scalar('traceloop.span.kind').toLowerCase()
  if (TRACELOOP_NOT_A_CALL.has(tlKind)) return { llm: false, why: `traceloop ${tlKind} span` }
  const op = a.scalar('gen_ai.operation.name').toLowerCase()
  if (NOT_A_CALL_OPERATIONS.has(op)) return { llm: false, why: `gen_ai ${op} span` }
  const named = [...MODEL_KEYS, ...PROVIDER_KEYS, 'llm.request.type'].some((k) => a.scalar(k) !== '')
  if (named || carriesUsage(a)) return { llm: true }
  return { llm: false, why: 'no GenAI attributes' }
}

/** True when the span itself carries token counts or a cost (decides which of nested LLM spans counts). */
export function carriesUsage(a: SpanAttributes): boolean {
  const keys = [
    ...INPUT_TOKEN_KEYS,
    ...OUTPUT_TOKEN_KEYS,
    ...TOTAL_TOKEN_KEYS,
    ...COST_KEYS,
    ...COST_PAIRS.flat(),
  ]
  return keys.some((k) => a.has(k))
}

/** A count read from the first present key, or why it is unusable. */
export type CountRead = { ok: true; value: number; key: string | null } | { ok: false; reason: string }

/** Reads a token count: an integer >= 0 (number or numeric string) from the first present key; 0 when none. */
export function readCount(a: SpanAttributes, keys: readonly string[]): CountRead {
  for (const key of keys) {
    if (!a.has(key)) continue
    const raw = a.get(key)
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN
    if (!Number.isFinite(n) || n < 0 || n > 2 ** 32 - 1) {
      return { ok: false, reason: `${key} is not a token count: ${JSON.stringify(raw)}` }
    }
    return { ok: true, value: Math.round(n), key }
  }
  return { ok: true, value: 0, key: null }
}

/** A USD amount from the first present key, or why it is unusable; `value` null when no key is present. */
export type CostRead = { ok: true; value: number | null; key: string | null } | { ok: false; reason: string }

/** Reads an amount in USD (finite, >= 0; number or numeric string). */
export function readAmount(a: SpanAttributes, keys: readonly string[]): CostRead {
  for (const key of keys) {
    if (!a.has(key)) continue
    const raw = a.get(key)
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN
    if (!Number.isFinite(n))
      return { ok: false, reason: `${key} is not a finite number: ${JSON.stringify(raw)}` }
    if (n < 0) return { ok: false, reason: `${key} is negative: ${n}` }
    return { ok: true, value: n, key }
  }
  return { ok: true, value: null, key: null }
}
