import type { Logger } from 'pino'
import type { Notification } from '../../core/alerts/alert.js'
import { renderSlack } from '../../core/alerts/render-slack.js'
import type { AlertSender, DeliveryReceipt } from '../../core/alerts/sender.js'
import type { AttemptOutcome } from '../../core/retry.js'
import { origin, postNotification, type HttpDeliveryOptions } from './http-delivery.js'
import { redactor, type Redactor } from './redact.js'

/**
 * Slack incoming webhook (https://api.slack.com/messaging/webhooks): one Block Kit message per
 * notification. The webhook URL is the secret: it never appears in messages (only its origin).
 */
export class SlackSender implements AlertSender {
  readonly type = 'slack' as const
  private readonly redact: Redactor
  private readonly label: string

  constructor(
    readonly channel: string,
    private readonly webhookUrl: string,
    private readonly opts: HttpDeliveryOptions,
    private readonly log: Logger,
  ) {
    this.redact = redactor([webhookUrl])
    this.label = `slack channel "${channel}" at ${origin(webhookUrl)}`
  }

  async send(n: Notification): Promise<AttemptOutcome<DeliveryReceipt>> {
    const body = JSON.stringify(renderSlack(n))
    const request = { label: this.label, url: this.webhookUrl, body, headers: {} }
    return postNotification(this, n, request, this.opts, this.redact, this.log)
  }

  async shutdown(): Promise<void> {}
}
