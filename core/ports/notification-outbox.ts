import type { Notification } from '../alerts/alert.js'

/** A notification waiting to be delivered, with its attempts so far. */
export interface PendingNotification {
  notification: Notification
  notBefore: number
  attempts: number
}

/** One delivery attempt's outcome. `success` and `failure` are final; `retry` keeps it pending. */
export interface DeliveryRecord {
  notificationId: string
  channel: string
  attempt: number
  outcome: 'success' | 'retry' | 'failure'
  detail: string
  at: number
}

/**
 * The notification outbox (alert_notifications) and the delivery log (alert_deliveries).
 * MUST: `insertNotifications` with a `token` already accepted adds nothing; a delivery record is
 * idempotent on (notification, attempt, outcome); `pending` answers the notifications of the last
 * `lookbackMs` with no final record, oldest first.
 */
export interface NotificationOutbox {
  insertNotifications(
    items: ReadonlyArray<{ notification: Notification; notBefore: number }>,
    token: string,
  ): Promise<void>
  recordDelivery(record: DeliveryRecord): Promise<void>
  pending(now: number, lookbackMs: number): Promise<PendingNotification[]>
}
