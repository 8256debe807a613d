import { z } from 'zod'

/** Raw input kept in a dead letter is cut to this many characters; `raw_bytes` keeps the real size. */
export const DEAD_LETTER_RAW_MAX_CHARS = 65_536

/** Input that could not become a request event, with where it came from and why. */
export const DeadLetter = z.object({
  received_at: z.number().int(),
  source: z.string(),
  /** Where in the input it was: "POST /ingest/litellm item 3", "kafka topic/partition@offset". */
  origin: z.string(),
  reason: z.string(),
  raw: z.string().max(DEAD_LETTER_RAW_MAX_CHARS),
  raw_bytes: z.number().int().min(0),
  topic: z.string().default(''),
  partition: z.number().int().default(-1),
  offset: z.number().int().default(-1),
})
export type DeadLetter = z.infer<typeof DeadLetter>

/** Builds a dead letter from any raw value (string or parsed JSON), truncating the kept text. */
export function deadLetter(
  raw: unknown,
  fields: Pick<DeadLetter, 'source' | 'origin' | 'reason' | 'received_at'> & Partial<DeadLetter>,
): DeadLetter {
  let text: string
  try {
    text = typeof raw === 'string' ? raw : (JSON.stringify(raw) ?? String(raw))
  } catch {
    text = String(raw)
  }
  return {
    topic: '',
    partition: -1,
    offset: -1,
    ...fields,
    raw: text.slice(0, DEAD_LETTER_RAW_MAX_CHARS),
    raw_bytes: Buffer.byteLength(text),
  }
}
