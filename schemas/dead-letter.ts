import { z } from 'zod'

/** Raw input kept in a dead letter is cut to this many characters; `raw_bytes` keeps the real size. */
export const DEAD_LETTER_RAW_MAX_CHARS = 65_536

/**
 * Why an item was dead-lettered, as a stable code (the `reason` beside it is the readable detail and
 * may change; a code never does). Counted by code on `/metrics` (`gatewarden_dead_letters_total`).
 */
export const DEAD_LETTER_CODES = {
  /** Not JSON (a truncated or invalid body, an NDJSON line, a Kafka value), or invalid UTF-8 made it so. */
  GW_DL_NOT_JSON: 'the item is not JSON',
  /** JSON, but not an object (a number, a string, an array where one event was expected). */
  GW_DL_NOT_OBJECT: 'the item is JSON but not an object',
  /** Nothing to read: an empty value or a Kafka tombstone. */
  GW_DL_EMPTY: 'the item is empty',
  /** Larger than its source's limit (`kafka.max_message_bytes`). */
  GW_DL_TOO_LARGE: 'the item is over the size limit',
  /** Not the shape of its format: a field of the wrong type, an unknown status, no resourceSpans. */
  GW_DL_INVALID: 'the item does not have the shape of its format',
  /** No id to count the call once by (LiteLLM id / litellm_call_id, OTLP traceId / spanId). */
  GW_DL_NO_ID: 'the item has no id',
  /** No usable start time (missing, not a time, out of 2000..2100 in every unit). */
  GW_DL_BAD_TIME: 'the item has no usable time',
  /** A cost or token count that is not a finite, non-negative number. */
  GW_DL_BAD_NUMBER: 'a cost or count is not a non-negative number',
  /** Start time older than `store.retention_days`. */
  GW_DL_TOO_OLD: 'the event is older than the retention',
  /** Start time more than 24 h ahead of the receiving clock. */
  GW_DL_FUTURE: 'the event is in the future',
  /** The source cannot map it here (OTLP on Kafka without the OTLP mapper). */
  GW_DL_UNSUPPORTED: 'the item cannot be mapped by this source',
  /** The store refused the row itself (a value its column cannot hold); the reason is the store's. */
  GW_DL_STORE_REJECTED: 'the store refused the row',
} as const

/** One of DEAD_LETTER_CODES. */
export const DeadLetterCode = z.enum(
  Object.keys(DEAD_LETTER_CODES) as [keyof typeof DEAD_LETTER_CODES, ...(keyof typeof DEAD_LETTER_CODES)[]],
)
export type DeadLetterCode = z.infer<typeof DeadLetterCode>

/** Input that could not become a request event, with where it came from and why. */
export const DeadLetter = z.object({
  received_at: z.number().int(),
  source: z.string(),
  /** Where in the input it was: "POST /ingest/litellm item 3", "kafka topic/partition@offset". */
  origin: z.string(),
  /** Why, as a stable code. */
  code: DeadLetterCode,
  /** Why, in words (a store rejection carries the store's own message). */
  reason: z.string(),
  raw: z.string().max(DEAD_LETTER_RAW_MAX_CHARS),
  raw_bytes: z.number().int().min(0),
  topic: z.string().default(''),
  partition: z.number().int().default(-1),
  offset: z.number().int().default(-1),
})
export type DeadLetter = z.infer<typeof DeadLetter>

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * `s` without lone UTF-16 surrogates (each becomes U+FFFD): the store refuses a string that has one
 * (CANNOT_PARSE_ESCAPE_SEQUENCE), and a dead letter MUST be storable whatever its input was.
 */
export const wellFormed = (s: string): string => s.replace(LONE_SURROGATE, '\uFFFD')

/** Builds a dead letter from any raw value (string or parsed JSON), truncating the kept text. */
export function deadLetter(
  raw: unknown,
  fields: Pick<DeadLetter, 'source' | 'origin' | 'code' | 'reason' | 'received_at'> & Partial<DeadLetter>,
): DeadLetter {
  let text: string
  try {
    text = typeof raw === 'string' ? raw : (JSON.stringify(raw) ?? String(raw))
  } catch {
    // nested too deep for the serialiser (a stack overflow), or a cycle: keep what can be said safely
    try {
      text = String(raw)
    } catch {
      text = `[${Array.isArray(raw) ? 'array' : typeof raw} not serialisable: nested too deep]`
    }
  }
  return {
    topic: '',
    partition: -1,
    offset: -1,
    ...fields,
    origin: wellFormed(fields.origin),
    reason: wellFormed(fields.reason),
    raw: wellFormed(text.slice(0, DEAD_LETTER_RAW_MAX_CHARS)),
    raw_bytes: Buffer.byteLength(text),
  }
}
