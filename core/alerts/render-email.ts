import type { Alert, Notification } from './alert.js'
import {
  alertLinks,
  formatValue,
  headline,
  iso,
  kindLabel,
  oneLine,
  scopeLabel,
  topSeverity,
  truncate,
  typesLabel,
} from './render-text.js'

/** An email ready for the transport: `text` and `html` say the same thing. */
export interface RenderedEmail {
  subject: string
  text: string
  html: string
}

/** Subjects longer than this are cut (mail clients show about 80 characters anyway). */
export const EMAIL_SUBJECT_MAX = 200
/** Alerts listed in one email; the rest are counted ("and N more"). */
export const EMAIL_MAX_ALERTS = 50

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

function when(a: Alert): Array<[string, string]> {
  const rows: Array<[string, string]> = [['started', iso(a.started_at)]]
  if (a.resolved_at !== null) rows.push(['resolved', iso(a.resolved_at)])
  return rows
}

function alertText(a: Alert, i: number): string {
  const lines = [
    `${i + 1}. [${a.severity}] ${scopeLabel(a.scope)}: ${oneLine(a.summary)}`,
    `   type: ${a.type}, state: ${a.state}, alert: ${a.id}`,
    ...when(a).map(([k, v]) => `   ${k}: ${v}`),
    ...Object.entries(a.details).map(([k, v]) => `   ${oneLine(k)}: ${oneLine(formatValue(v))}`),
    ...alertLinks(a).map((l) => `   ${l.text}: ${l.href}`),
  ]
  return lines.join('\n')
}

function alertHtml(a: Alert): string {
  const rows: Array<[string, string]> = [
    ['type', a.type],
    ['severity', a.severity],
    ['state', a.state],
    ['scope', scopeLabel(a.scope)],
    ...when(a),
    ...Object.entries(a.details).map(([k, v]): [string, string] => [k, formatValue(v)]),
  ]
  const table = rows
    .map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('')
  const links = alertLinks(a)
    .map((l) => `<a href="${escapeHtml(l.href)}">${escapeHtml(l.text)}</a>`)
    .join(' | ')
  return (
    `<h3>${escapeHtml(oneLine(a.summary))}</h3>` +
    `<table cellpadding="4">${table}</table>` +
    (links ? `<p>${links}</p>` : '')
  )
}

/** The email of a notification: subject, plain text and HTML (every value escaped), capped at `maxAlerts`. */
export function renderEmail(n: Notification, maxAlerts = EMAIL_MAX_ALERTS): RenderedEmail {
  const shown = n.alerts.slice(0, maxAlerts)
  const more = n.alerts.length - shown.length
  const title = `${kindLabel(n.kind)} [${topSeverity(n.alerts)}]: ${n.alerts.length} ${typesLabel(n.alerts)} alert${n.alerts.length === 1 ? '' : 's'}`
  const footer = `Notification ${n.id} (${n.kind}) at ${iso(n.created_at)}, sent by Gatewarden.`
  const moreLine = more > 0 ? `and ${more} more alert${more === 1 ? '' : 's'}` : ''
  const text = [title, ...shown.map(alertText), ...(moreLine ? [moreLine] : []), footer].join('\n\n') + '\n'
  const html =
    `<!doctype html><html><body>` +
    `<h2>${escapeHtml(title)}</h2>` +
    shown.map(alertHtml).join('<hr>') +
    (moreLine ? `<p>${escapeHtml(moreLine)}</p>` : '') +
    `<p><small>${escapeHtml(footer)}</small></p>` +
    `</body></html>`
  return { subject: truncate(`[Gatewarden] ${headline(n)}`, EMAIL_SUBJECT_MAX), text, html }
}
