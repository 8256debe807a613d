import type { Severity } from '../../schemas/policy.js'
import type { DetectorType, Scope } from '../detectors/finding.js'

/**
 * An incident as people see it: opened by a `firing` finding, closed by a `resolved` one, keyed by the
 * finding's `dedupe_key`. Every state change is stored (alerts table); `id` is stable for one incident
 * (dedupe_key + started_at), so a re-fire after resolution is a new alert; a re-fire while its
 * resolution is held (the detector's `resolve_after`, see alert-book.ts) is the same alert.
 */
export interface Alert {
  id: string
  dedupe_key: string
  type: DetectorType
  severity: Severity
  state: 'firing' | 'resolved'
  scope: Scope
  started_at: number
  resolved_at: number | null
  updated_at: number
  summary: string
  details: Record<string, string | number | boolean | null>
  links: { page?: string; grafana?: string }
}

/** Why a notification goes out. */
export type NotificationKind = 'firing' | 'resolved' | 'renotify'

/**
 * One message to one channel. Alerts of one type that started within the group window travel together,
 * so an incident across 500 keys is one email. `id` is the idempotency key of the delivery (PagerDuty
 * dedup_key is per alert, see the pagerduty sender).
 */
export interface Notification {
  id: string
  channel: string
  kind: NotificationKind
  alerts: Alert[]
  created_at: number
}
