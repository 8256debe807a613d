import type { ClickHouseClient } from '@clickhouse/client'
import type { Notification } from '../../core/alerts/alert.js'
import type {
  DeliveryRecord,
  NotificationOutbox,
  PendingNotification,
} from '../../core/ports/notification-outbox.js'
import type { StoreClient } from './client.js'
import { insertSettings } from './settings.js'

export type { PendingNotification }

/** The NotificationOutbox port on ClickHouse: alert_notifications and alert_deliveries. */
export function clickHouseOutbox(store: StoreClient): NotificationOutbox {
  const { client, database } = store
  return {
    insertNotifications: (items, token) => insertNotifications(client, database, items, token),
    recordDelivery: (d) => insertDelivery(client, database, d),
    pending: (now, lookbackMs) => pendingNotifications(client, database, now, lookbackMs),
  }
}

/** Writes notifications to the outbox before any send: a crash or a down channel cannot lose them. */
export async function insertNotifications(
  client: ClickHouseClient,
  database: string,
  items: ReadonlyArray<{ notification: Notification; notBefore: number }>,
  token: string,
): Promise<void> {
  if (items.length === 0) return
  await client.insert({
    table: `${database}.alert_notifications`,
    values: items.map(({ notification: n, notBefore }) => ({
      id: n.id,
      channel: n.channel,
      kind: n.kind,
      alert_ids: n.alerts.map((a) => a.id),
      body: JSON.stringify(n),
      created_at: n.created_at,
      not_before: notBefore,
    })),
    format: 'JSONEachRow',
    clickhouse_settings: insertSettings(token),
  })
}

/** Records one delivery attempt. `success` and `failure` are final; `retry` keeps it pending. */
export async function insertDelivery(
  client: ClickHouseClient,
  database: string,
  d: DeliveryRecord,
): Promise<void> {
  await client.insert({
    table: `${database}.alert_deliveries`,
    values: [
      {
        notification_id: d.notificationId,
        channel: d.channel,
        attempt: d.attempt,
        outcome: d.outcome,
        detail: d.detail.slice(0, 2000),
        at: d.at,
      },
    ],
    format: 'JSONEachRow',
    clickhouse_settings: insertSettings(`delivery-${d.notificationId}-${d.attempt}-${d.outcome}`),
  })
}

/** Notifications of the last `lookbackMs` with no final delivery, oldest first. */
export async function pendingNotifications(
  client: ClickHouseClient,
  database: string,
  now: number,
  lookbackMs: number,
): Promise<PendingNotification[]> {
  const rs = await client.query({
    query: `SELECT any(n.body) AS body, toUnixTimestamp64Milli(any(n.not_before)) AS not_before_ms,
       (SELECT count() FROM ${database}.alert_deliveries d WHERE d.notification_id = n.id) AS attempts
FROM ${database}.alert_notifications AS n
WHERE n.created_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')
  AND n.id NOT IN (SELECT notification_id FROM ${database}.alert_deliveries WHERE outcome IN ('success', 'failure'))
GROUP BY n.id
ORDER BY min(n.created_at)`,
    query_params: { since: now - lookbackMs },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{ body: string; not_before_ms: string; attempts: string }>()
  return rows.map((r) => ({
    notification: JSON.parse(r.body) as Notification,
    notBefore: Number(r.not_before_ms),
    attempts: Number(r.attempts),
  }))
}

/** Delivery attempts of one notification, oldest first (for the API and tests). */
export async function deliveriesOf(
  client: ClickHouseClient,
  database: string,
  notificationId: string,
): Promise<Array<{ attempt: number; outcome: string; detail: string }>> {
  const rs = await client.query({
    query: `SELECT attempt, toString(outcome) AS outcome, detail FROM ${database}.alert_deliveries WHERE notification_id = {id:String} ORDER BY at, attempt`,
    query_params: { id: notificationId },
    format: 'JSONEachRow',
  })
  return (await rs.json<{ attempt: number; outcome: string; detail: string }>()).map((r) => ({
    ...r,
    attempt: Number(r.attempt),
  }))
}
