import { DateTime } from 'luxon'

/** `$500`, `$12.30`, `$0.0042`: whole dollars bare, cents when they matter, 2 significant digits below a cent. */
export function usd(n: number): string {
  if (Number.isInteger(n)) return `$${n}`
  if (Math.abs(n) >= 0.01) return `$${n.toFixed(2)}`
  return `$${n.toPrecision(2)}`
}

/** Rounds to `digits` decimals, for numbers put in finding details (no float noise like 0.30000000000000004). */
export function round(n: number, digits = 6): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

/** `Nov 28 at 14:00 UTC` (or `GMT+1`, `EST`) in `timezone`; locale fixed for deterministic text. */
export function instant(ms: number, timezone: string): string {
  return DateTime.fromMillis(ms, { zone: timezone }).setLocale('en-US').toFormat("LLL d 'at' HH:mm ZZZZ")
}

/** ISO-8601 in UTC, for details. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/** `45s`, `12m`, `3.5h`, `16d`: a rough human duration. */
export function span(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`
  if (ms < 172_800_000) return `${round(ms / 3_600_000, 1)}h`
  return `${round(ms / 86_400_000, 1)}d`
}

/** `5m`, `1h`, `30m`, `1d`, `90s`: the largest unit that divides `ms` exactly (labels for configured windows). */
export function durationLabel(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ]
  for (const [u, n] of units) if (ms >= n && ms % n === 0) return `${ms / n}${u}`
  return `${ms}ms`
}

/** `16.2x`. */
export function times(x: number): string {
  return `${round(x, 1)}x`
}
