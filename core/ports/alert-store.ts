import type { Alert } from '../alerts/alert.js'
import type { DetectorType } from '../detectors/finding.js'
import type { Silence } from '../../schemas/silence.js'

/** An alert state change, as stored. `instance` names the Gatewarden process that wrote it. */
export interface AlertChange {
  alert: Alert
  silenced: boolean
  instance: string
}

/** Filters of GET /api/alerts (and of the restore at start). */
export interface AlertFilter {
  state?: 'firing' | 'resolved'
  since?: number
  type?: DetectorType
  dedupeKey?: string
  limit: number
}

/** An alert's current state and whether its latest change was silenced. */
export type StoredAlert = Alert & { silenced: boolean }

/**
 * Where alert state changes and silences live (the alerts and alert_silences tables).
 * MUST: `insertChanges` with a `token` already accepted adds nothing (a retried write after an
 * ambiguous failure is not stored twice); `listAlerts` answers each alert's latest change (`resolved`
 * wins a tie), newest first; `listSilences` leaves out deleted ones, and expired ones unless asked.
 */
export interface AlertStore {
  insertChanges(changes: readonly AlertChange[], token: string): Promise<void>
  listAlerts(filter: AlertFilter): Promise<StoredAlert[]>
  listSilences(now: number, includeExpired?: boolean): Promise<Silence[]>
  /** Stores a silence or a new version of it (`version` orders versions; `deleted` removes it). */
  upsertSilence(silence: Silence, deleted: boolean, version: number): Promise<void>
}
