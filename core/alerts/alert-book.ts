import { createHash } from 'node:crypto'
import type { DetectorType, Finding } from '../detectors/finding.js'
import type { Alert } from './alert.js'

/** An open alert whose condition has cleared: resolved once clear for its detector's `resolve_after`. */
export interface Clearing {
  /** When the detector first said resolved (its finding's `at`). */
  since: number
  /** The latest resolving finding (its summary and details go into the resolution). */
  finding: Finding
}

/**
 * Open alerts by dedupe key. Plain data: it is rebuilt from the alerts table after a restart (an alert
 * that was clearing is firing in the store, so its hold restarts when its detector resolves it again).
 * `clearing` holds the open alerts whose condition has cleared and whose resolution waits.
 */
export interface AlertBook {
  open: Record<string, Alert>
  clearing?: Record<string, Clearing>
}

/** Links put on every alert. */
export interface AlertLinks {
  page?: string
  grafana?: string
}

/**
 * Hysteresis: a resolution is kept back until the condition has been clear for `resolveAfter(type)` ms
 * (judged at `now`); a firing during that time reopens the same alert (no new row, no new page).
 * Without it (or with 0), a resolution closes the alert at once.
 */
export interface Hysteresis {
  now: number
  resolveAfter(type: DetectorType): number
}

/** A finding's details, with the gateway action it decided (downgrade/block) recorded as `action`. */
function detailsOf(f: Finding): Alert['details'] {
  return f.action ? { ...f.details, action: JSON.stringify(f.action) } : f.details
}

/** Stable id of one incident: the dedupe key and the instant it opened. */
export function alertId(dedupeKey: string, startedAt: number): string {
  return createHash('sha256').update(`${dedupeKey}\u0000${startedAt}`).digest('hex').slice(0, 24)
}

function resolution(current: Alert, f: Finding, resolvedAt: number, updatedAt: number): Alert {
  const at = Math.max(resolvedAt, current.started_at)
  return {
    ...current,
    state: 'resolved',
    resolved_at: at,
    updated_at: Math.max(at, updatedAt, current.updated_at),
    summary: f.summary,
    details: { ...current.details, ...f.details },
  }
}

/**
 * Applies findings to the book. Returns the alerts whose state changed (to store and notify):
 * - `firing` with no open alert opens one; with an open alert it refreshes summary/details in the book and
 *   reports a change only when the severity changes (a still-firing alert is not re-stored every tick);
 *   on a clearing alert it cancels the pending resolution (the incident goes on: same id, no new page);
 * - `resolved` closes the open alert, at once without `hold` (or when `final`), else once its condition has been clear
 *   for its detector's `resolve_after` (the resolution carries `resolved_at` = when it cleared); a
 *   resolution with nothing open is ignored (already resolved: a restart or a replay must not re-fire
 *   or re-resolve);
 * - with `hold`, every call (findings or not) closes the clearing alerts whose time has come, so the
 *   caller MUST call it on each tick while `clearing` is not empty.
 * MUST: stays generic over detector types (a new detector gets the hysteresis through `resolveAfter`).
 */
export function applyFindings(
  book: AlertBook,
  findings: readonly Finding[],
  links: (f: Finding) => AlertLinks,
  hold?: Hysteresis,
): { book: AlertBook; changes: Alert[] } {
  const open = { ...book.open }
  const clearing = { ...book.clearing }
  const changes: Alert[] = []
  for (const f of findings) {
    const current = open[f.dedupe_key]
    if (f.state === 'firing') {
      delete clearing[f.dedupe_key]
      if (!current) {
        const alert: Alert = {
          id: alertId(f.dedupe_key, f.at),
          dedupe_key: f.dedupe_key,
          type: f.type,
          severity: f.severity,
          state: 'firing',
          scope: f.scope,
          started_at: f.at,
          resolved_at: null,
          updated_at: f.at,
          summary: f.summary,
          details: detailsOf(f),
          links: links(f),
        }
        open[f.dedupe_key] = alert
        changes.push(alert)
      } else {
        const next = {
          ...current,
          summary: f.summary,
          details: detailsOf(f),
          severity: f.severity,
          updated_at: Math.max(current.updated_at, f.at),
        }
        open[f.dedupe_key] = next
        if (next.severity !== current.severity) changes.push(next)
      }
    } else if (current) {
      if (hold && !f.final && hold.resolveAfter(current.type) > 0) {
        const was = clearing[f.dedupe_key]
        clearing[f.dedupe_key] = { since: was?.since ?? f.at, finding: f }
        continue
      }
      changes.push(resolution(current, f, f.at, f.at))
      delete open[f.dedupe_key]
      delete clearing[f.dedupe_key]
    }
  }
  if (hold) {
    for (const [key, c] of Object.entries(clearing)) {
      const current = open[key]
      if (!current) {
        delete clearing[key]
        continue
      }
      if (hold.now - c.since < hold.resolveAfter(current.type)) continue
      changes.push(resolution(current, c.finding, c.since, hold.now))
      delete open[key]
      delete clearing[key]
    }
  }
  return { book: Object.keys(clearing).length > 0 ? { open, clearing } : { open }, changes }
}
