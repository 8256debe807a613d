import type { CostRow } from '../../schemas/api.js'
import type { CustomerReport, ReportAlert, ReportRule } from './report-data.js'
import { usd } from './cost-table.js'

/** A table of the report: headers, which columns are numbers, and rows of cells. */
interface Section {
  title: string
  headers: string[]
  numeric: boolean[]
  rows: string[][]
  /** Shown instead of an empty table. */
  empty: string
  /** Cost of each row, for the HTML bars. */
  bars?: number[]
}

const change = (r: CostRow) =>
  `${Number(r.delta_usd ?? 0) >= 0 ? '+' : ''}${usd(Number(r.delta_usd ?? 0))}` +
  (typeof r.delta_pct === 'number' ? ` (${r.delta_pct >= 0 ? '+' : ''}${r.delta_pct.toFixed(2)}%)` : ' (new)')
const label = (v: string | number | null | undefined) =>
  v === '' || v === null || v === undefined ? '(none)' : String(v)
const minute = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '')
const monthName = (month: string) =>
  new Date(`${month}-01T00:00:00Z`).toLocaleString('en-US', {
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  })

function compared(title: string, dim: 'model' | 'endpoint', rows: CostRow[]): Section {
  return {
    title,
    headers: [dim, 'cost (USD)', 'requests', 'failures', 'previous month', 'change'],
    numeric: [false, true, true, true, true, true],
    rows: rows.map((r) => [
      label(r[dim]),
      usd(r.cost_usd),
      String(r.requests),
      String(r.failures),
      usd(Number(r.previous_cost_usd ?? 0)),
      change(r),
    ]),
    empty: 'No spend.',
    bars: rows.map((r) => r.cost_usd),
  }
}

function sections(r: CustomerReport): Section[] {
  const t = r.total
  const alerts = (a: ReportAlert) => [
    a.type,
    a.severity,
    a.state,
    minute(a.started_at),
    minute(a.resolved_at),
    a.summary,
  ]
  const rules = (x: ReportRule) => [
    x.id,
    x.action.action === 'downgrade'
      ? `downgrade ${Object.entries(x.action.map ?? {})
          .map(([a, b]) => `${a} -> ${b}`)
          .join(', ')}`
      : x.action.action,
    x.reason.kind,
    x.mode,
    x.state,
    minute(x.created_at),
    x.ended_by === null ? `expires ${minute(x.expires_at)}` : `${x.ended_by} ${minute(x.updated_at)}`,
  ]
  return [
    {
      title: 'Summary',
      headers: ['', 'this month', 'previous month', 'change'],
      numeric: [false, true, true, true],
      rows: [
        ['cost (USD)', usd(t.cost_usd), usd(Number(t.previous_cost_usd ?? 0)), change(t)],
        ['requests', String(t.requests), '', ''],
        ['failures', String(t.failures), '', ''],
        ['input tokens', String(t.input_tokens), '', ''],
        ['output tokens', String(t.output_tokens), '', ''],
      ],
      empty: '',
    },
    compared('Spend by model', 'model', r.byModel),
    compared('Spend by endpoint', 'endpoint', r.byEndpoint),
    {
      title: 'Top days (UTC)',
      headers: ['day', 'cost (USD)', 'requests'],
      numeric: [false, true, true],
      rows: r.topDays.map((d) => [String(d.day), usd(d.cost_usd), String(d.requests)]),
      empty: 'No spend.',
      bars: r.topDays.map((d) => d.cost_usd),
    },
    {
      title: 'Alerts on the customer',
      headers: ['type', 'severity', 'state', 'started (UTC)', 'resolved (UTC)', 'summary'],
      numeric: [false, false, false, false, false, false],
      rows: (r.alerts ?? []).map(alerts),
      empty: r.alerts ? 'None this month.' : 'Alerting is not enabled on this Gatewarden.',
    },
    {
      title: 'Guardrail rules on the customer',
      headers: ['rule', 'action', 'reason', 'mode', 'state', 'created (UTC)', 'ended'],
      numeric: [false, false, false, false, false, false, false],
      rows: (r.rules ?? []).map(rules),
      empty: r.rules ? 'None this month.' : 'Enforcement is off on this Gatewarden.',
    },
  ]
}

const title = (r: CustomerReport) => `Spend report: ${label(r.customer)}, ${monthName(r.month)}`
const subtitle = (r: CustomerReport) =>
  `${r.from} .. ${r.to} (${r.timezone}), compared with ${r.previous.from} .. ${r.previous.to}. Generated ${r.generatedAt} by Gatewarden.`

const mdCell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')

/** The report as Markdown (GitHub tables). */
export function reportMarkdown(r: CustomerReport): string {
  const out = [`# ${mdCell(title(r))}`, '', subtitle(r), '']
  for (const s of sections(r)) {
    out.push(`## ${s.title}`, '')
    if (s.rows.length === 0) {
      out.push(s.empty, '')
      continue
    }
    out.push(
      `| ${s.headers.map(mdCell).join(' | ')} |`,
      `|${s.numeric.map((n) => (n ? ' ---: ' : ' --- ')).join('|')}|`,
    )
    for (const row of s.rows) out.push(`| ${row.map(mdCell).join(' | ')} |`)
    out.push('')
  }
  return out.join('\n')
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESC[c]!)

const CSS = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#1d2733;max-width:64em;margin:2em auto;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.1em;margin-top:1.8em;border-bottom:1px solid #dde3ea;padding-bottom:.2em}
p.sub{color:#5b6876;margin-top:0}table{border-collapse:collapse;width:100%}th,td{padding:5px 8px;border-bottom:1px solid #eef1f4;text-align:left;vertical-align:top}
th{font-weight:600;color:#3a4652}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.bar{width:25%}td.bar div{background:#4f7cac;height:.8em;border-radius:2px;min-width:1px}
@media print{body{margin:0}}`

/** The report as one self-contained HTML file (inline CSS, no script, no external resource). */
export function reportHtml(r: CustomerReport): string {
  const body = sections(r)
    .map((s) => {
      if (s.rows.length === 0) return `<h2>${esc(s.title)}</h2>\n<p>${esc(s.empty)}</p>`
      const max = Math.max(0, ...(s.bars ?? []))
      const head = s.headers.map((h, i) => `<th${s.numeric[i] ? ' class="n"' : ''}>${esc(h)}</th>`).join('')
      const rows = s.rows
        .map((row, j) => {
          const cells = row.map((c, i) => `<td${s.numeric[i] ? ' class="n"' : ''}>${esc(c)}</td>`).join('')
          const bar = s.bars
            ? `<td class="bar"><div style="width:${max > 0 ? ((s.bars[j]! / max) * 100).toFixed(1) : 0}%"></div></td>`
            : ''
          return `<tr>${cells}${bar}</tr>`
        })
        .join('\n')
      return `<h2>${esc(s.title)}</h2>\n<table><thead><tr>${head}${s.bars ? '<th></th>' : ''}</tr></thead>\n<tbody>\n${rows}\n</tbody></table>`
    })
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title(r))}</title><style>${CSS}</style></head>
<body><h1>${esc(title(r))}</h1><p class="sub">${esc(subtitle(r))}</p>
${body}
</body></html>
`
}
