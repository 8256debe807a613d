import type { Logger } from 'pino'
import type { GatewayTarget, TargetOutcome } from '../../core/ports/gateway-target.js'
import type { Rule } from '../../schemas/rule.js'
import { origin } from '../alerts/http-delivery.js'
import { redactor, type Redactor } from '../alerts/redact.js'
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '../alerts/webhook-signature.js'
import { requestWithRetry, toOutcome, type TargetHttpOptions } from './target-http.js'

/** Header naming one delivery, the same on every retry and re-drive of the same rule version and event. */
export const DELIVERY_HEADER = 'x-gatewarden-delivery'

/** What a receiver gets. */
export type RuleWebhookEvent = 'rule.applied' | 'rule.removed'
export interface RuleWebhookBody {
  event: RuleWebhookEvent
  rule: Rule
}

/**
 * `<rule id>:<event>:<expires_at>`: stable for a re-drive after a crash (the receiver drops a repeat),
 * new when the rule is extended (its new expiry is news for the receiver).
 */
export function deliveryId(rule: Rule, event: RuleWebhookEvent): string {
  return `${rule.id}:${event}:${rule.expires_at}`
}

/**
 * Pushes each rule change as signed JSON `{ event, rule }` (POST). Signed like the alert webhook:
 * `X-Gatewarden-Timestamp: <unix s>`, `X-Gatewarden-Signature: sha256=<hex HMAC-SHA256(secret,
 * "<timestamp>.<body>")>` (adapters/alerts/webhook-signature.ts verifies it), plus
 * `X-Gatewarden-Delivery` and `Idempotency-Key` set to `deliveryId`. Any 2xx is success; 408/429/5xx
 * and network errors are retryable; other statuses are not.
 */
export class WebhookTarget implements GatewayTarget {
  readonly name: string
  private readonly redact: Redactor
  private readonly label: string

  constructor(
    name: string,
    private readonly url: string,
    private readonly secret: string | undefined,
    private readonly opts: TargetHttpOptions & { now?: () => number },
    private readonly log: Logger,
  ) {
    this.name = `webhook:${name}`
    this.redact = redactor([secret, new URL(url).search.slice(1) || undefined])
    this.label = `${this.name} POST ${origin(url)}`
  }

  /** A receiver decides what it can enforce: every rule is sent. */
  supports(_rule: Rule): boolean {
    return true
  }

  apply(rule: Rule): Promise<TargetOutcome> {
    return this.deliver('rule.applied', rule)
  }

  remove(rule: Rule): Promise<TargetOutcome> {
    return this.deliver('rule.removed', rule)
  }

  private deliver(event: RuleWebhookEvent, rule: Rule): Promise<TargetOutcome> {
    const body = JSON.stringify({ event, rule } satisfies RuleWebhookBody)
    const id = deliveryId(rule, event)
    return toOutcome(async () => {
      const answer = await requestWithRetry(
        { method: 'POST', url: this.url, label: this.label, body, headers: this.headers(id, body) },
        this.opts,
        this.redact,
        this.log,
      )
      this.log.debug({ rule: rule.id, event, status: answer.status }, 'rule pushed to webhook')
      return `${answer.status} ${event}`
    })
  }

  /** One timestamp per push: its retries run within seconds, far inside the receiver's tolerance. */
  private headers(id: string, body: string): Record<string, string> {
    const timestamp = String(Math.floor((this.opts.now ?? Date.now)() / 1000))
    const h: Record<string, string> = {
      [DELIVERY_HEADER]: id,
      'idempotency-key': id,
      [TIMESTAMP_HEADER]: timestamp,
    }
    if (this.secret) h[SIGNATURE_HEADER] = signWebhook(this.secret, timestamp, body)
    return h
  }
}
