import { createHash } from 'node:crypto'

/**
 * Volatile tokens replaced before hashing, so that requests differing only by a timestamp, an id
 * or a counter inside the prompt share a fingerprint (loop detection counts them as repeats).
 * Order matters: the more specific patterns run first.
 */
const VOLATILE: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b/g, '<ts>'],
  [/\b\d{1,2}:\d{2}(:\d{2})?\b/g, '<time>'],
  [/\b\d{4}-\d{2}-\d{2}\b/g, '<date>'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{12,}\b/gi, '<hex>'],
  [/\b\d{4,}\b/g, '<n>'],
  [/\s+/g, ' '],
]

/** Replaces volatile tokens (uuids, timestamps, long numbers, hex ids) and folds whitespace. */
export function normalizeText(text: string): string {
  let out = text
  for (const [re, sub] of VOLATILE) out = out.replace(re, sub)
  return out.trim()
}

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
 * Stable fingerprint of a request: sha256 over model + normalized prompt + tool names, first 32 hex chars.
 * '' when there is no prompt to fingerprint (e.g. prompts redacted at the gateway), so loop detection skips it.
 */
export function requestFingerprint(model: string, messages: unknown, tools?: unknown): string {
  const text = promptText(messages)
  if (text === '' || text === 'redacted-by-litellm') return ''
  const h = createHash('sha256')
  h.update(model.toLowerCase())
  h.update('\u0000')
  h.update(normalizeText(text))
  h.update('\u0000')
  h.update(toolNames(tools).join(','))
  return h.digest('hex').slice(0, 32)
}
