import { z } from 'zod'

const Num = z.number().nullish()
const Str = z.string().nullish()
/**
 * A JSON object whose values the mapper reads one by one (metadata, model_parameters, hidden_params). Not
 * `z.record(z.string(), z.unknown())`: that copies every entry of every payload's 30-odd metadata keys and
 * made this schema 5x slower (52 vs 11 us per 4.4 KB payload, measured), for keys JSON makes strings anyway.
 */
const JsonObject = z
  .custom<Record<string, unknown>>(
    (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
    'expected an object',
  )
  // how the OpenAPI document (adapters/http/openapi) describes it: a custom check has no shape of its own
  .meta({ type: 'object', additionalProperties: true })
/** float epoch seconds in LiteLLM; some forks and hand-made senders use ms or ISO strings, which the mapper detects. */
const Instant = z.union([z.number(), z.string()]).nullish()

/** LiteLLM's `error_information` block of a failure payload. */
export const LiteLLMErrorInformation = z.looseObject({
  error_code: z.union([z.string(), z.number()]).nullish(),
  error_class: Str,
  llm_provider: Str,
  error_message: Str,
})

/**
 * LiteLLM's `StandardLoggingPayload` (litellm/types/utils.py), as posted by the `generic_api` logger.
 * Loose on purpose: unknown fields pass, every optional field may be null. Only the fields
 * Gatewarden reads are typed; the mapper decides what is required.
 */
export const StandardLoggingPayload = z.looseObject({
  id: Str,
  litellm_call_id: Str,
  trace_id: Str,
  call_type: Str,
  stream: z.boolean().nullish(),
  response_cost: z.unknown().optional(),
  status: Str,
  custom_llm_provider: Str,
  prompt_tokens: Num,
  completion_tokens: Num,
  total_tokens: Num,
  startTime: Instant,
  endTime: Instant,
  completionStartTime: Instant,
  model: Str,
  model_group: Str,
  model_id: Str,
  api_base: Str,
  metadata: JsonObject.nullish(),
  cache_hit: z.boolean().nullish(),
  request_tags: z.array(z.unknown()).nullish(),
  end_user: Str,
  messages: z.unknown().optional(),
  response: z.unknown().optional(),
  error_str: Str,
  error_information: LiteLLMErrorInformation.nullish(),
  model_parameters: JsonObject.nullish(),
  hidden_params: JsonObject.nullish(),
})
export type StandardLoggingPayload = z.infer<typeof StandardLoggingPayload>
