import type { DeadLetterCode } from '../../schemas/dead-letter.js'
/** One item of a batch body or message: a parsed JSON value, or a line that did not parse (dead-lettered). */
export type RawItem =
  { ok: true; value: unknown } | { ok: false; raw: string; reason: string; code: DeadLetterCode }

/** Splits NDJSON into items; blank lines are skipped, a line that is not JSON is only that item's problem. */
export function ndjsonItems(text: string): RawItem[] {
  const items: RawItem[] = []
  text.split('\n').forEach((line, i) => {
    const trimmed = line.trim()
    if (trimmed === '') return
    try {
      items.push({ ok: true, value: JSON.parse(trimmed) as unknown })
    } catch (err) {
      items.push({
        ok: false,
        raw: trimmed,
        reason: `line ${i + 1} is not JSON: ${(err as Error).message}`,
        code: 'GW_DL_NOT_JSON',
      })
    }
  })
  return items
}
