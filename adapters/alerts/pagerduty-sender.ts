import type { Logger } from 'pino'
import type { Notification } from '../../core/alerts/alert.js'
import { AlertDeliveryError } from '../../core/alerts/delivery-error.js'
import { renderPagerDutyEvents } from '../../core/alerts/render-pagerduty.js'
import { delivered, type AlertSender, type DeliveryReceipt } from '../../core/alerts/sender.js'
import type { AttemptOutcome } from '../../core/retry.js'
import { origin, postOnce, type HttpDeliveryOptions } from './http-delivery.js'
import { redactor, type Redactor } from './redact.js'

/** PagerDuty's public Events API v2 endpoint. */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue'
/** Notifications whose partly accepted events are remembered, so a retry re-sends only the rest. */
const REMEMBERED = 1000

/**
 * PagerDuty Events API v2: one event per alert (`trigger` or `resolve`, `dedup_key` = the alert's dedupe
 * key), POSTed in order. An attempt stops at the first retryable answer (PagerDuty throttles with 429);
 * events already accepted are not re-sent by the next attempt of the same notification (PagerDuty would
 * dedupe them anyway). A refused event (400) does not hold back the others; the attempt then fails.
 */
export class PagerDutySender implements AlertSender {
  readonly type = 'pagerduty' as const
  private readonly redact: Redactor
  private readonly label: string
  private readonly accepted = new Map<string, Set<number>>()

  constructor(
    readonly channel: string,
    private readonly routingKey: string,
    private readonly eventsUrl: string,
    private readonly opts: HttpDeliveryOptions,
    private readonly log: Logger,
  ) {
    this.redact = redactor([routingKey])
    this.label = `pagerduty channel "${channel}" at ${origin(eventsUrl)}`
  }

  async send(n: Notification): Promise<AttemptOutcome<DeliveryReceipt>> {
    const events = renderPagerDutyEvents(n)
    const done = this.accepted.get(n.id) ?? new Set<number>()
    const refused: AlertDeliveryError[] = []
    let status = 202
    for (const [i, event] of events.entries()) {
      if (done.has(i)) continue
      const body = JSON.stringify({ routing_key: this.routingKey, ...event })
      const out = await postOnce(
        { channel: this.channel, label: this.label, url: this.eventsUrl, body, headers: {} },
        this.opts,
        this.redact,
      )
      if (out.kind === 'success') {
        done.add(i)
        status = out.value.status
      } else if (out.kind === 'retryable') {
        this.remember(n.id, done)
        return out
      } else {
        refused.push(out.error as AlertDeliveryError)
      }
    }
    this.accepted.delete(n.id)
    if (refused.length > 0) {
      const first = refused[0]!
      const error = new AlertDeliveryError(
        `${refused.length}/${events.length} events refused; first: ${first.message}`,
        this.channel,
        false,
        first.status,
        { cause: first },
      )
      return { kind: 'failure', error }
    }
    this.log.debug({ channel: this.channel, notification: n.id, events: events.length }, 'alert delivered')
    return delivered(this, n, status, `${events.length}/${events.length} events accepted`)
  }

  private remember(id: string, done: Set<number>): void {
    if (done.size === 0) return
    this.accepted.delete(id)
    this.accepted.set(id, done)
    if (this.accepted.size > REMEMBERED) this.accepted.delete(this.accepted.keys().next().value!)
  }

  async shutdown(): Promise<void> {}
}
