import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { CostRow } from '../../schemas/api.js'
import type { CustomerReport } from './report-data.js'
import { reportHtml, reportMarkdown } from './report-render.js'

const row = (dims: Record<string, string>, cost: number, prev: number): CostRow => ({
  ...dims,
  cost_usd: cost,
  requests: 10,
  failures: 1,
  input_tokens: 1000,
  output_tokens: 100,
  cached_tokens: 0,
  previous_cost_usd: prev,
  delta_usd: cost - prev,
  delta_pct: prev === 0 ? null : Math.round(((cost - prev) / prev) * 1e4) / 1e2,
})

const report: CustomerReport = {
  customer: 'acme <script>alert(1)</script>',
  month: '2026-10',
  timezone: 'UTC',
  from: '2026-10-01T00:00:00.000Z',
  to: '2026-11-01T00:00:00.000Z',
  previous: { from: '2026-09-01T00:00:00.000Z', to: '2026-10-01T00:00:00.000Z' },
  total: row({}, 12.5, 10),
  byModel: [row({ model: 'gpt-4o' }, 10, 10), row({ model: 'a|b' }, 2.5, 0)],
  byEndpoint: [row({ endpoint: '' }, 12.5, 10)],
  topDays: [{ ...row({ day: '2026-10-07' }, 4, 0) }],
  alerts: [
    {
      id: 'a1',
      type: 'burn_rate',
      severity: 'page',
      state: 'resolved',
      scope: { kind: 'customer', id: 'acme' },
      started_at: '2026-10-07T10:00:00.000Z',
      resolved_at: '2026-10-07T12:00:00.000Z',
      summary: 'acme burns <fast>',
    },
  ],
  rules: undefined,
  generatedAt: '2026-11-02T08:00:00.000Z',
}

test('Markdown: a title, the summary with the change, tables with escaped pipes, off parts said so', () => {
  const md = reportMarkdown(report)
  assert.match(md, /^# Spend report: acme <script>alert\(1\)<\/script>, October 2026/)
  assert.match(md, /\| cost \(USD\) \| 12\.5000 \| 10\.0000 \| \+2\.5000 \(\+25\.00%\) \|/)
  assert.match(md, /\| a\\\|b \| 2\.5000 \| 10 \| 1 \| 0\.0000 \| \+2\.5000 \(new\) \|/)
  assert.match(md, /\| \(none\) \| 12\.5000/)
  assert.match(md, /\| 2026-10-07 \| 4\.0000 \| 10 \|/)
  assert.match(md, /## Guardrail rules on the customer\n\nEnforcement is off/)
})

test('HTML: one self-contained file (no script, no external resource), every value escaped', () => {
  const html = reportHtml(report)
  assert.match(html, /^<!doctype html>/)
  assert.doesNotMatch(html, /<script|<link|src=|href=|url\(/i)
  assert.ok(html.includes('acme &lt;script&gt;alert(1)&lt;/script&gt;'))
  assert.ok(html.includes('acme burns &lt;fast&gt;'))
  // bars scale to the largest row of their table
  assert.match(html, /width:100\.0%/)
  assert.match(html, /width:25\.0%/)
})
