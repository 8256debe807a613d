import { createHash } from 'node:crypto'
import type { Finding } from '../detectors/finding.js'
import type { Alert } from './alert.js'

/** Open alerts by dedupe key. Plain data: it is rebuilt from the alerts table after a restart. */
export interface AlertBook {
  open: Record<string, Alert>
}

/** Links put on every alert. */
export interface AlertLinks {
  page?: string
  grafana?: string
}

/** A finding's details, with the gateway action it decided (downgrade/block) recorded as `action`. */
function detailsOf(f: Finding): Alert['details'] {
  return f.action ? { ...f.details, action: JSON.stringify(f.action) } : f.details
}

/** Stable id of one incident: the dedupe key and the instant it opened. */
export function alertId(dedupeKey: string, startedAt: number): string {
  return createHash('sha256').update(`${dedupeKey}\u0000${startedAt}`).digest('hex').slice(0, 24)
}

/**
 * Applies findings to the book. Returns the alerts whose state changed (to store and notify):
 * - `firing` with no open alert opens one; with an open alert it refreshes summary/details in the book and
 *   reports a change only when the severity changes (a still-firing alert is not re-stored every tick);
 * - `resolved` closes the open alert; a resolution with nothing open is ignored (already resolved: a
 *   restart or a replay must not re-fire or re-resolve).
 */
export function applyFindings(
  book: AlertBook,
  findings: readonly Finding[],
  links: (f: Finding) => AlertLinks,
): { book: AlertBook; changes: Alert[] } {
  const open = { ...book.open }
  const changes: Alert[] = []
  for (const f of findings) {
    const current = open[f.dedupe_key]
    if (f.state === 'firing') {
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
      const at = Math.max(f.at, current.started_at)
      changes.push({
        ...current,
        state: 'resolved',
        resolved_at: at,
        updated_at: at,
        summary: f.summary,
        details: { ...current.details, ...f.details },
      })
      delete open[f.dedupe_key]
    }
  }
  return { book: { open }, changes }
}
