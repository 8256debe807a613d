/** Replaces every secret in a text with this. */
export const REDACTED = '[REDACTED]'

/** A function that scrubs known secrets (and their URL-encoded forms) out of any text. */
export type Redactor = (text: string) => string

/**
 * A redactor for `secrets`. A secret URL (a Slack incoming webhook) also registers its path and query,
 * which is where the token lives, since libraries print paths without the host.
 */
export function redactor(secrets: ReadonlyArray<string | undefined>): Redactor {
  const forms = new Set<string>()
  for (const s of secrets) {
    if (!s) continue
    forms.add(s)
    forms.add(encodeURIComponent(s))
    const url = URL.canParse(s) ? new URL(s) : undefined
    if (url && /^https?:$/.test(url.protocol) && url.pathname.length + url.search.length > 1) {
      forms.add(url.pathname + url.search)
      forms.add(url.toString())
    }
  }
  // longest first, so a URL goes as a whole before its path would leave the host behind
  const list = [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length)
  return (text) => list.reduce((t, f) => t.split(f).join(REDACTED), text)
}

const KEPT = [
  'code',
  'errno',
  'syscall',
  'responseCode',
  'command',
  'response',
  'permanent',
  'status',
] as const

/**
 * A copy of `err` safe to attach as a cause: same name, message and diagnostic fields (code, errno,
 * syscall, SMTP responseCode/command/response), strings redacted, nested causes likewise (3 deep).
 * Nothing else survives: library errors may hold requests, headers or credentials.
 */
export function redactError(err: unknown, redact: Redactor, depth = 0): Error {
  if (!(err instanceof Error)) return new Error(redact(typeof err === 'string' ? err : 'non-error thrown'))
  const copy = new Error(
    redact(err.message),
    depth < 3 && err.cause !== undefined ? { cause: redactError(err.cause, redact, depth + 1) } : undefined,
  )
  Object.defineProperty(copy, 'name', {
    value: err.name,
    enumerable: false,
    writable: true,
    configurable: true,
  })
  copy.stack = `${copy.name}: ${copy.message}`
  const src = err as unknown as Record<string, unknown>
  const dst = copy as unknown as Record<string, unknown>
  for (const k of KEPT) {
    const v = src[k]
    if (typeof v === 'string') dst[k] = redact(v)
    else if (typeof v === 'number' || typeof v === 'boolean') dst[k] = v
  }
  return copy
}
