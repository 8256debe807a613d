/**
 * Milliseconds to wait from an HTTP `Retry-After` value: delay-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`, compared with `now`). Undefined when absent or unreadable;
 * a date in the past is 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined
  const v = value.trim()
  if (v === '') return undefined
  if (/^\d+$/.test(v)) return Number(v) * 1000
  // HTTP-dates name a weekday or month; a bare number with a sign or fraction is not one
  if (!/[A-Za-z]/.test(v)) return undefined
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
