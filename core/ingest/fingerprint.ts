import { hash } from 'node:crypto'

/**
 * Volatile tokens replaced before hashing, so that requests differing only by a timestamp, an id
 * or a counter inside the prompt share a fingerprint (loop detection counts them as repeats).
 * Order matters: the more specific patterns run first. (Measured: one alternation of all of them in one
 * pass over the text is slower than one pass each; `normalizeText` runs them on short tokens only.)
 */
const VOLATILE: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b/g, '<ts>'],
  [/\b\d{1,2}:\d{2}(:\d{2})?\b/g, '<time>'],
  [/\b\d{4}-\d{2}-\d{2}\b/g, '<date>'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{12,}\b/gi, '<hex>'],
  [/\b\d{4,}\b/g, '<n>'],
]

/** Characters a volatile token is made of: `\w` (letters, digits, `_`) and `:.+-` (times, dates, zones, uuids). */
function isTokenChar(c: number): boolean {
  return (
    (c >= 48 && c <= 58) || // 0-9 and ':'
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 95 || // _
    c === 46 || // .
    c === 43 || // +
    c === 45 // -
  )
}

/** Whitespace that is not one lone space: a run of 2+, or any tab, newline or other space character. */
const FOLDABLE_SPACE = / (?=\s)\s*|[^\S ]\s*/g

/**
 * Replaces volatile tokens (uuids, timestamps, long numbers, hex ids) and folds whitespace. Every
 * volatile pattern contains a digit, so the patterns run only on the tokens around each digit (a run
 * of `isTokenChar`), not over the whole text: 7 passes over a prompt became one scan for digits plus
 * the patterns on a few short tokens. Word boundaries fall where they did (a token ends at a non-word
 * character other than `:.+-`); a timestamp written with a space (`2026-11-26 09:12`) now reads as
 * `<date> <time>` rather than `<ts>`, which is as stable.
 */
export function normalizeText(input: string): string {
  // folded first, on the flat input (a token never holds whitespace, so the order does not matter)
  const text = input.replace(FOLDABLE_SPACE, ' ').trim()
  const digit = /\d/g
  let out = ''
  let last = 0
  for (let m = digit.exec(text); m !== null; m = digit.exec(text)) {
    let start = m.index
    while (start > last && isTokenChar(text.charCodeAt(start - 1))) start--
    let end = m.index + 1
    while (end < text.length && isTokenChar(text.charCodeAt(end))) end++
    let token = text.slice(start, end)
    for (const [re, sub] of VOLATILE) token = token.replace(re, sub)
    out += text.slice(last, start) + token
    last = end
    digit.lastIndex = end
  }
  return last === 0 ? text : out + text.slice(last)
}

/**
 * How much of each end of a prompt is normalised: a longer prompt's middle is hashed as it is. Normalising
 * costs ~0.2 us per 100 characters, so a 100 KB agent context cost 2.4 ms and a batch of them blocked
 * ingest for a second; with the cap the cost stops growing (hashing the raw middle runs at memory speed).
 * A loop resends the same context, so its middle is the same bytes; the volatile tokens that make repeats
 * differ (times, ids, counters) sit in the instruction at the end or the header at the start.
 */
export const NORMALIZED_EDGE_CHARS = 8_192

/** Text of a chat message `content` (string or content-part array); images and other parts by type only. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content
      .map((p: unknown) => {
        if (typeof p === 'string') return p
        if (p && typeof p === 'object') {
          const part = p as Record<string, unknown>
          return typeof part.text === 'string'
            ? part.text
            : `<${typeof part.type === 'string' ? part.type : 'part'}>`
        }
        return ''
      })
      .join('\n')
  }
  if (content === null || content === undefined) return ''
  return JSON.stringify(content)
}

/** Canonical text of a prompt: chat messages (role + content + tool calls), a plain prompt, or embedding input. */
export function promptText(messages: unknown): string {
  if (typeof messages === 'string') return messages
  if (Array.isArray(messages)) {
    return messages
      .map((m: unknown) => {
        if (m && typeof m === 'object' && !Array.isArray(m)) {
          const msg = m as Record<string, unknown>
          const calls = msg.tool_calls ? ` ${JSON.stringify(msg.tool_calls)}` : ''
          return `${typeof msg.role === 'string' ? msg.role : ''}: ${contentText(msg.content)}${calls}`
        }
        return contentText(m)
      })
      .join('\n')
  }
  if (messages && typeof messages === 'object') return JSON.stringify(messages)
  return ''
}

/** Tool names (sorted) from OpenAI-style `tools` / `functions` parameters; schemas are ignored on purpose. */
function toolNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return []
  return tools
    .map((t: unknown) => {
      if (!t || typeof t !== 'object') return ''
      const tool = t as Record<string, unknown>
      const fn = tool.function as Record<string, unknown> | undefined
      const name = fn?.name ?? tool.name
      return typeof name === 'string' ? name : ''
    })
    .filter((n) => n !== '')
    .sort()
}

/**
 * Key the Gatewarden guardrail hook sets in LiteLLM's `spend_logs_metadata` to the model the client asked
 * for when a rule downgraded the call. Every mapper fingerprints on it when present: a downgraded call is
 * still the client's request for its original model, so it stays in the loop it belongs to (else
 * downgrade -> the loop "ends" -> the rule lifts -> the loop starts again).
 */
export const GUARDRAIL_REQUESTED_MODEL = 'gatewarden_model_requested'

/**
 * Stable fingerprint of a request: sha256 over model + normalized prompt (each end normalised, a long
 * prompt's middle as it is: NORMALIZED_EDGE_CHARS) + tool names, first 32 hex chars.
 * '' when there is no prompt to fingerprint (e.g. prompts redacted at the gateway), so loop detection skips it.
 */
export function requestFingerprint(model: string, messages: unknown, tools?: unknown): string {
  const text = promptText(messages)
  if (text === '' || text === 'redacted-by-litellm') return ''
  const prompt =
    text.length <= 2 * NORMALIZED_EDGE_CHARS
      ? normalizeText(text)
      : `${normalizeText(text.slice(0, NORMALIZED_EDGE_CHARS))}\u0000${text.slice(NORMALIZED_EDGE_CHARS, -NORMALIZED_EDGE_CHARS)}\u0000${normalizeText(text.slice(-NORMALIZED_EDGE_CHARS))}`
  // one-shot hash of one string (the same bytes the three updates of a streaming hash took)
  return hash(
    'sha256',
    `${model.toLowerCase()}\u0000${prompt}\u0000${toolNames(tools).join(',')}`,
    'hex',
  ).slice(0, 32)
}
