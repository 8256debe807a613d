// Spend: spend over time stacked by model or customer, top customers and endpoints of the period with
// their budget bars, and the previous period of the same length (a second /api/cost call).
import { api, cost, metricsText } from '../api.js'
import { bucketSeconds, stackedBars } from '../chart.js'
import { budgetBar, budgetSeries } from '../budgets.js'
import { h, int, label, money, numHead, table } from '../dom.js'
import { parseMetrics } from '../metrics.js'
import { PERIODS, range } from '../period.js'

const SERIES = 8
const TOP = 10

/** Every bucket start (seconds) in [from, to). */
function buckets(from, to, bucket) {
  const step = bucket === 'day' ? 86_400 : 3_600
  const out = []
  // the API's buckets start on whole days / hours (UTC)
  const first = Math.floor(Date.parse(from) / 1000 / step) * step
  for (let t = first; t < Date.parse(to) / 1000; t += step) out.push(t)
  return out
}

function trend(cur, prev) {
  if (prev === undefined) return h('span', { class: 'muted' }, 'new')
  if (cur > prev) return h('span', { class: 'up', title: 'more than the previous period' }, '▲')
  if (cur < prev) return h('span', { class: 'down', title: 'less than the previous period' }, '▼')
  return h('span', { class: 'muted' }, '=')
}

function select(id, options, value, onchange) {
  return h(
    'select',
    { id, onchange: (e) => onchange(e.target.value) },
    Object.entries(options).map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
  )
}

export async function spendPage(root, args) {
  const period = PERIODS[args[0]] ? args[0] : 'last_7d'
  const by = args[1] === 'customer' ? 'customer' : 'model'
  const r = range(period)
  const cur = { from: r.from, to: r.to }
  const [groups, rows, customers, customersPrev, endpoints, endpointsPrev, budgets, metrics] =
    await Promise.all([
      cost({ group_by: by, ...cur, limit: SERIES }),
      cost({ group_by: `${r.bucket},${by}`, ...cur }),
      cost({ group_by: 'customer', ...cur, limit: TOP }),
      cost({ group_by: 'customer', ...r.previous }),
      cost({ group_by: 'endpoint', ...cur, limit: TOP }),
      cost({ group_by: 'endpoint', ...r.previous }),
      api('api/budgets').catch(() => ({ budgets: [] })),
      metricsText()
        .then(parseMetrics)
        .catch(() => []),
    ])

  const xs = buckets(r.from, r.to, r.bucket)
  const index = new Map(xs.map((x, i) => [x, i]))
  const series = groups.map((g) => ({ label: label(g[by]), key: g[by], values: xs.map(() => null) }))
  const byKey = new Map(series.map((s) => [s.key, s]))
  for (const row of rows) {
    const s = byKey.get(row[by])
    const i = index.get(bucketSeconds(row[r.bucket]))
    if (s && i !== undefined) s.values[i] = row.cost_usd
  }

  const chart = h('div', {
    class: 'chart',
    id: 'spend-chart',
    'data-series': series.length,
    'data-from': r.from,
    'data-to': r.to,
  })
  const prevOf = (list, dim) => new Map(list.map((x) => [x[dim], x.cost_usd]))
  const custPrev = prevOf(customersPrev, 'customer')
  const endPrev = prevOf(endpointsPrev, 'endpoint')
  const hasBudget = budgets.budgets.length > 0

  const customerRows = customers.map((c) =>
    h(
      'tr',
      { 'data-customer': c.customer },
      h(
        'td',
        {},
        c.customer === ''
          ? '(unattributed)'
          : h('a', { href: `#/customer/${encodeURIComponent(c.customer)}` }, c.customer),
      ),
      money(c.cost_usd, { 'data-testid': 'current' }),
      custPrev.has(c.customer)
        ? money(custPrev.get(c.customer), { 'data-testid': 'previous' })
        : h('td', { class: 'num muted' }, '–'),
      h('td', {}, trend(c.cost_usd, custPrev.get(c.customer))),
      h('td', { class: 'num' }, int(c.requests)),
      hasBudget ? h('td', {}, budgetSeries(metrics, `customer:${c.customer}`).map(budgetBar)) : null,
    ),
  )
  const endpointRows = endpoints.map((e) =>
    h(
      'tr',
      { 'data-endpoint': e.endpoint },
      h('td', {}, label(e.endpoint)),
      money(e.cost_usd),
      endPrev.has(e.endpoint) ? money(endPrev.get(e.endpoint)) : h('td', { class: 'num muted' }, '–'),
      h('td', {}, trend(e.cost_usd, endPrev.get(e.endpoint))),
      h('td', { class: 'num' }, int(e.requests)),
      hasBudget ? h('td', {}, budgetSeries(metrics, `endpoint:${e.endpoint}`).map(budgetBar)) : null,
    ),
  )
  const go = (p, b) => (location.hash = `#/spend/${p}/${b}`)

  root.append(
    h('h1', {}, 'Spend'),
    h(
      'div',
      { class: 'controls' },
      h(
        'label',
        {},
        'Period ',
        select(
          'period',
          Object.fromEntries(Object.entries(PERIODS).map(([k, v]) => [k, v.label])),
          period,
          (p) => go(p, by),
        ),
      ),
      h(
        'label',
        {},
        'Stacked by ',
        select('stack-by', { model: 'model', customer: 'customer' }, by, (b) => go(period, b)),
      ),
      h(
        'span',
        { class: 'muted' },
        `${r.from.slice(0, 16).replace('T', ' ')} to ${r.to.slice(0, 16).replace('T', ' ')} UTC; previous period ${r.previous.from.slice(0, 10)} to ${r.previous.to.slice(0, 10)}`,
      ),
    ),
    h('section', { class: 'card' }, h('h2', {}, `Spend per ${r.bucket} by ${by} (top ${SERIES})`), chart),
    h(
      'div',
      { class: 'grid' },
      h(
        'section',
        { class: 'card' },
        h('h2', {}, `Top customers`),
        table(
          [
            'customer',
            numHead('this period'),
            numHead('previous period'),
            'trend',
            numHead('requests'),
            hasBudget ? 'budgets (current period)' : null,
          ].filter(Boolean),
          customerRows,
          { id: 'top-customers' },
        ),
      ),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Top endpoints'),
        table(
          [
            'endpoint',
            numHead('this period'),
            numHead('previous period'),
            'trend',
            numHead('requests'),
            hasBudget ? 'budgets (current period)' : null,
          ].filter(Boolean),
          endpointRows,
          { id: 'top-endpoints' },
        ),
      ),
    ),
  )
  // uPlot needs the element in the document to size itself
  queueMicrotask(() => {
    if (!chart.isConnected) requestAnimationFrame(() => draw())
    else draw()
  })
  function draw() {
    if (!chart.isConnected) return requestAnimationFrame(draw)
    if (series.length === 0) chart.append(h('p', { class: 'muted' }, 'No spend in this period.'))
    else stackedBars(chart, xs, series)
  }
}
