import type { Silence } from '../../schemas/silence.js'
import type { Alert } from './alert.js'

/** True when `silence` is active at `now` and every field of its matcher equals the alert's. */
export function silences(silence: Silence, alert: Alert, now: number): boolean {
  if (silence.expires_at <= now) return false
  const m = silence.matcher
  return (
    (m.type === undefined || m.type === alert.type) &&
    (m.severity === undefined || m.severity === alert.severity) &&
    (m.scope_kind === undefined || m.scope_kind === alert.scope.kind) &&
    (m.scope_id === undefined || m.scope_id === alert.scope.id) &&
    (m.dedupe_key === undefined || m.dedupe_key === alert.dedupe_key)
  )
}

/** The first active silence muting `alert`, if any. */
export function silencedBy(all: readonly Silence[], alert: Alert, now: number): Silence | undefined {
  return all.find((s) => silences(s, alert, now))
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Expiry of a silence given `expires_at` (ISO) or `duration` (30m, 4h, 7d). */
export function silenceExpiry(input: { expires_at?: string; duration?: string }, now: number): number {
  if (input.expires_at) return Date.parse(input.expires_at)
  const m = /^(\d+)(m|h|d)$/.exec(input.duration ?? '')
  return m ? now + Number(m[1]) * UNIT_MS[m[2]!]! : now
}
