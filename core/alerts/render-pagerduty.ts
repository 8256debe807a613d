import { createHash } from 'node:crypto'
import type { Severity } from '../../schemas/policy.js'
import type { Alert, Notification } from './alert.js'
import { alertLinks, iso, oneLine, truncate } from './render-text.js'

/**
 * A PagerDuty Events API v2 event without its `routing_key` (a secret the sender adds)
 * (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
 */
export type PagerDutyEvent =
  | {
      event_action: 'trigger'
      dedup_key: string
      payload: {
        summary: string
        source: string
        severity: 'critical' | 'error' | 'warning' | 'info'
        timestamp: string
        component: string
        group: string
        class: string
        custom_details: Record<string, string | number | boolean | null>
      }
      links: Array<{ href: string; text: string }>
      client: string
      client_url?: string
    }
  | { event_action: 'resolve'; dedup_key: string }

const PD_SEVERITY: Record<Severity, 'critical' | 'warning' | 'info'> = {
  page: 'critical',
  ticket: 'warning',
  info: 'info',
}
/** PagerDuty's limits on `payload.summary` and `dedup_key`. */
export const PD_SUMMARY_MAX = 1024
export const PD_DEDUP_KEY_MAX = 255

/**
 * The PagerDuty dedup key of an alert: its `dedupe_key`, so PagerDuty folds a re-sent trigger into the open
 * incident and a resolve closes it. Keys over 255 characters become `gw:<sha256 hex>` (same key, same hash).
 */
export function pagerDutyDedupKey(a: Alert): string {
  if (a.dedupe_key.length <= PD_DEDUP_KEY_MAX) return a.dedupe_key
  return `gw:${createHash('sha256').update(a.dedupe_key).digest('hex')}`
}

/**
 * One event per alert: `trigger` while firing (also for `renotify`: PagerDuty dedupes it into the open
 * incident), `resolve` once resolved. Severity: page -> critical, ticket -> warning, info -> info.
 */
export function renderPagerDutyEvents(n: Notification): PagerDutyEvent[] {
  return n.alerts.map((a): PagerDutyEvent => {
    const dedup_key = pagerDutyDedupKey(a)
    if (a.state === 'resolved') return { event_action: 'resolve', dedup_key }
    const links = alertLinks(a)
    return {
      event_action: 'trigger',
      dedup_key,
      payload: {
        summary: truncate(oneLine(a.summary) || `${a.type} alert`, PD_SUMMARY_MAX),
        source: 'gatewarden',
        severity: PD_SEVERITY[a.severity],
        timestamp: iso(a.started_at),
        component: a.scope.id === '' ? a.scope.kind : `${a.scope.kind}:${a.scope.id}`,
        group: a.scope.kind,
        class: a.type,
        // the detector's numbers, then ours (which win a name clash)
        custom_details: {
          ...a.details,
          alert_id: a.id,
          dedupe_key: a.dedupe_key,
          gatewarden_severity: a.severity,
          started_at: iso(a.started_at),
          notification: n.kind,
        },
      },
      links,
      client: 'Gatewarden',
      ...(links[0] ? { client_url: links[0].href } : {}),
    }
  })
}
