import type { Logger } from 'pino'
import type { Notification } from '../../core/alerts/alert.js'
import type { AlertSender, DeliveryReceipt } from '../../core/alerts/sender.js'
import { renderWebhookBody } from '../../core/alerts/webhook-body.js'
import type { AttemptOutcome } from '../../core/retry.js'
import { origin, postNotification, type HttpDeliveryOptions } from './http-delivery.js'
import { redactor, type Redactor } from './redact.js'
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './webhook-signature.js'

/**
 * Generic webhook: POSTs the `WebhookBody` JSON (core/alerts/webhook-body.ts) with
 * `Idempotency-Key: <notification id>` (the same on every retry), `X-Gatewarden-Timestamp: <unix s>` and,
 * when a secret is configured, `X-Gatewarden-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
 * Each attempt is signed afresh (new timestamp, same body).
 */
export class WebhookSender implements AlertSender {
  readonly type = 'webhook' as const
  private readonly redact: Redactor
  private readonly label: string

  constructor(
    readonly channel: string,
    private readonly url: string,
    private readonly secret: string | undefined,
    private readonly opts: HttpDeliveryOptions,
    private readonly log: Logger,
  ) {
    // the URL is not a secret by config, but a query string may carry a token: keep it out too
    this.redact = redactor([secret, new URL(url).search.slice(1) || undefined])
    this.label = `webhook channel "${channel}" at ${origin(url)}`
  }

  async send(n: Notification): Promise<AttemptOutcome<DeliveryReceipt>> {
    const body = JSON.stringify(renderWebhookBody(n))
    const timestamp = String(Math.floor((this.opts.now ?? Date.now)() / 1000))
    const headers: Record<string, string> = {
      'idempotency-key': n.id,
      [TIMESTAMP_HEADER]: timestamp,
    }
    if (this.secret) headers[SIGNATURE_HEADER] = signWebhook(this.secret, timestamp, body)
    return postNotification(
      this,
      n,
      { label: this.label, url: this.url, body, headers },
      this.opts,
      this.redact,
      this.log,
    )
  }

  async shutdown(): Promise<void> {}
}
