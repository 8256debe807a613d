import type { Severity } from '../../schemas/policy.js'
import type { Scope } from '../detectors/finding.js'
import type { Alert, Notification, NotificationKind } from './alert.js'

const RANK: Record<Severity, number> = { page: 3, ticket: 2, info: 1 }

/** The most urgent severity among `alerts` (`info` for none). */
export function topSeverity(alerts: readonly Alert[]): Severity {
  let top: Severity = 'info'
  for (const a of alerts) if (RANK[a.severity] > RANK[top]) top = a.severity
  return top
}

const KIND: Record<NotificationKind, string> = {
  firing: 'FIRING',
  resolved: 'RESOLVED',
  renotify: 'STILL FIRING',
}

/** `FIRING`, `RESOLVED`, `STILL FIRING`. */
export function kindLabel(kind: NotificationKind): string {
  return KIND[kind]
}

/** `customer acme`, `global`. */
export function scopeLabel(scope: Scope): string {
  return scope.kind === 'global' || scope.id === '' ? scope.kind : `${scope.kind} ${oneLine(scope.id)}`
}

/** Epoch ms as ISO 8601 UTC. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/** Control characters (newlines included) become single spaces: summaries go into headers and titles. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim()
}

/** At most `max` code points, the last one an ellipsis when cut (never splits a surrogate pair). */
export function truncate(s: string, max: number): string {
  const points = Array.from(s)
  return points.length <= max ? s : points.slice(0, Math.max(0, max - 1)).join('') + '…'
}

/** A detail value as people read it. */
export function formatValue(v: string | number | boolean | null): string {
  return v === null ? '-' : String(v)
}

/** Types of the alerts, distinct, in order of appearance: `burn_rate`, `loop, zombie_agent`. */
export function typesLabel(alerts: readonly Alert[]): string {
  return [...new Set(alerts.map((a) => a.type))].join(', ')
}

/**
 * The one-line title of a notification, shared by email subjects and Slack: for one alert
 * `FIRING [page] burn_rate customer acme: <summary>`, for many `FIRING [page] 500 loop alerts`.
 */
export function headline(n: Notification): string {
  const label = `${kindLabel(n.kind)} [${topSeverity(n.alerts)}]`
  const only = n.alerts.length === 1 ? n.alerts[0] : undefined
  if (only) return `${label} ${only.type} ${scopeLabel(only.scope)}: ${oneLine(only.summary)}`
  return `${label} ${n.alerts.length} ${typesLabel(n.alerts)} alerts`
}

/** Only http(s) URLs become links; anything else (a config typo, `javascript:`) is dropped. */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined
  try {
    const u = new URL(url)
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : undefined
  } catch {
    return undefined
  }
}

/** The alert's links that are safe to render, labelled. */
export function alertLinks(a: Alert): Array<{ text: string; href: string }> {
  const out: Array<{ text: string; href: string }> = []
  const page = safeUrl(a.links.page)
  const grafana = safeUrl(a.links.grafana)
  if (page) out.push({ text: 'Gatewarden', href: page })
  if (grafana) out.push({ text: 'Grafana', href: grafana })
  return out
}
