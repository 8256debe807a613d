import { z } from 'zod'
import type { Notification } from './alert.js'
import { iso } from './render-text.js'

const DetailValue = z.union([z.string(), z.number(), z.boolean(), z.null()])

/** One alert in a webhook body. Times are ISO 8601 UTC; `resolved_at` is null while firing. */
export const WebhookAlert = z.strictObject({
  id: z.string(),
  dedupe_key: z.string(),
  type: z.enum(['burn_rate', 'budget_exhaustion', 'loop', 'zombie_agent', 'spend_anomaly']),
  severity: z.enum(['page', 'ticket', 'info']),
  state: z.enum(['firing', 'resolved']),
  scope: z.strictObject({ kind: z.string(), id: z.string() }),
  started_at: z.iso.datetime(),
  resolved_at: z.iso.datetime().nullable(),
  updated_at: z.iso.datetime(),
  summary: z.string(),
  details: z.record(z.string(), DetailValue),
  links: z.strictObject({ page: z.string().optional(), grafana: z.string().optional() }),
})
export type WebhookAlert = z.infer<typeof WebhookAlert>

/**
 * The JSON body Gatewarden POSTs to a `webhook` channel (version 1). Receivers parse it with this schema;
 * new optional fields may appear within a version, so receivers should ignore unknown keys.
 * `id` is also the `Idempotency-Key` header: a retried delivery carries the same id.
 */
export const WebhookBody = z.strictObject({
  version: z.literal(1),
  id: z.string(),
  kind: z.enum(['firing', 'resolved', 'renotify']),
  channel: z.string(),
  created_at: z.iso.datetime(),
  alerts: z.array(WebhookAlert),
})
export type WebhookBody = z.infer<typeof WebhookBody>

/** The webhook body of a notification: every alert, nothing capped. */
export function renderWebhookBody(n: Notification): WebhookBody {
  return {
    version: 1,
    id: n.id,
    kind: n.kind,
    channel: n.channel,
    created_at: iso(n.created_at),
    alerts: n.alerts.map((a) => ({
      id: a.id,
      dedupe_key: a.dedupe_key,
      type: a.type,
      severity: a.severity,
      state: a.state,
      scope: { kind: a.scope.kind, id: a.scope.id },
      started_at: iso(a.started_at),
      resolved_at: a.resolved_at === null ? null : iso(a.resolved_at),
      updated_at: iso(a.updated_at),
      summary: a.summary,
      details: { ...a.details },
      links: { ...a.links },
    })),
  }
}
