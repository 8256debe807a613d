import type { FastifyInstance } from 'fastify'
import type { Alert } from '../../../core/alerts/alert.js'
import type { HttpPorts } from '../ports.js'

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
/** HTML-escapes text (every dynamic value on the page goes through it). */
export const esc = (v: string | number | boolean | null | undefined): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ESC[c]!)

const iso = (ms: number | null) =>
  ms === null ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19)

function row(a: Alert & { silenced: boolean }): string {
  const details = Object.entries(a.details)
    .map(([k, v]) => `${esc(k)}=${esc(v)}`)
    .join(', ')
  return `<tr id="${esc(a.id)}" class="${esc(a.state)} ${esc(a.severity)}">
<td>${esc(a.state)}${a.silenced ? ' (silenced)' : ''}</td><td>${esc(a.severity)}</td><td>${esc(a.type)}</td>
<td>${esc(a.scope.kind)}: ${esc(a.scope.id)}</td><td>${esc(iso(a.started_at))}</td><td>${esc(iso(a.resolved_at))}</td>
<td>${esc(a.summary)}<details><summary>details</summary><code>${details}</code></details></td></tr>`
}

/**
 * GET /alerts: the built-in alerts page alert links point to (`alerts.public_url` + `/alerts#<id>`):
 * firing alerts first, then the last resolved ones. Server-rendered, every value escaped, no script.
 * Behind the same bearer token as /api/* when one is configured.
 */
export function pageRoutes(app: FastifyInstance, ports: HttpPorts): void {
  app.get('/alerts', async (_req, reply) => {
    if (!ports.alerts) return reply.code(404).type('text/plain').send('alerting is not enabled')
    const firing = await ports.alerts.list({ state: 'firing', limit: 500 })
    const resolved = await ports.alerts.list({ state: 'resolved', limit: 100 })
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gatewarden alerts</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:6px;text-align:left;vertical-align:top}
tr.firing.page td:first-child{color:#b00020;font-weight:600}tr.firing td:first-child{color:#b26a00}
tr:target{background:#fff6c2}code{font-size:12px}</style></head>
<body><h1>Gatewarden alerts</h1>
<p>${firing.length} firing, ${resolved.length} recently resolved. JSON: <a href="api/alerts">/api/alerts</a></p>
<table><thead><tr><th>state</th><th>severity</th><th>type</th><th>scope</th><th>started (UTC)</th><th>resolved (UTC)</th><th>summary</th></tr></thead>
<tbody>${[...firing, ...resolved].map(row).join('\n')}</tbody></table></body></html>`
    return reply.type('text/html; charset=utf-8').send(html)
  })
}
