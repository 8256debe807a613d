import type { AlertChannel } from '../../schemas/policy.js'
import type { AttemptOutcome } from '../retry.js'
import type { Notification } from './alert.js'

/** What a channel said when it took a notification (stored with the delivery). */
export interface DeliveryReceipt {
  channel: string
  type: AlertChannel['type']
  notification_id: string
  /** HTTP status, or the SMTP reply code of the accepted message. */
  status: number
  /** The channel's own words, secrets redacted: SMTP reply, `3/3 events accepted`, a response excerpt. */
  detail: string
}

/**
 * A port to one configured channel. `send` makes ONE attempt and classifies it (`success`, `failure`,
 * `retryable` with `retryAfterMs`); the dispatcher owns the retry loop (`withRetry`).
 * MUST: expected failures are returned, never thrown; errors and receipts never contain a secret.
 */
export interface AlertSender {
  readonly channel: string
  readonly type: AlertChannel['type']
  send(notification: Notification): Promise<AttemptOutcome<DeliveryReceipt>>
  /** Closes pooled connections; `send` is not called afterwards. */
  shutdown(): Promise<void>
}

/** The success outcome of one delivery to `sender`'s channel. */
export function delivered(
  sender: Pick<AlertSender, 'channel' | 'type'>,
  n: Notification,
  status: number,
  detail: string,
): AttemptOutcome<DeliveryReceipt> {
  return {
    kind: 'success',
    value: { channel: sender.channel, type: sender.type, notification_id: n.id, status, detail },
  }
}
