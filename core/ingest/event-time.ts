/** How far ahead of the receiving clock an event's start may be (clock skew between hosts). */
export const MAX_FUTURE_SKEW_MS = 24 * 3_600_000

/**
 * Why an event's start time cannot be accepted now, or null when it can. Too old: older than
 * `store.retention_days` (TTL would drop the raw row while the rollups kept it, and a redelivery could no
 * longer be recognised). Too new: more than a day ahead of `receivedAt` (a wrong clock or unit; it
 * would also hold the detectors' event-time watermark in the future).
 */
export function eventTimeRejection(ts: number, receivedAt: number, retentionDays: number): string | null {
  if (retentionDays > 0 && ts < receivedAt - retentionDays * 86_400_000) {
    return `ts ${new Date(ts).toISOString()} is older than store.retention_days (${retentionDays})`
  }
  if (ts > receivedAt + MAX_FUTURE_SKEW_MS) {
    return `ts ${new Date(ts).toISOString()} is more than 24h ahead of the receiving clock`
  }
  return null
}
