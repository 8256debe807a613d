// Customer: one customer's spend by model, endpoint, agent and day, with its budgets and alerts.
import { api, cost, metricsText, ApiError } from '../api.js'
import { budgetBar, budgetSeries } from '../budgets.js'
import { h, int, label, money, notice, numHead, table, when } from '../dom.js'
import { parseMetrics } from '../metrics.js'
import { PERIODS, range } from '../period.js'

const DIMENSIONS = ['model', 'endpoint', 'agent', 'day']

function breakdown(dim, rows) {
  return h(
    'section',
    { class: 'card' },
    h('h2', {}, `By ${dim}`),
    table(
      [
        dim,
        numHead('cost'),
        numHead('requests'),
        numHead('failures'),
        numHead('input tokens'),
        numHead('output tokens'),
      ],
      rows.map((r) =>
        h(
          'tr',
          {},
          h('td', {}, label(r[dim])),
          money(r.cost_usd),
          h('td', { class: 'num' }, int(r.requests)),
          h('td', { class: 'num' }, int(r.failures)),
          h('td', { class: 'num' }, int(r.input_tokens)),
          h('td', { class: 'num' }, int(r.output_tokens)),
        ),
      ),
      { id: `by-${dim}` },
    ),
  )
}

const optional = (p, empty) =>
  p.catch((err) => {
    if (err instanceof ApiError && err.status === 404) return empty
    throw err
  })

export async function customerPage(root, args) {
  const name = args[0] ?? ''
  const period = PERIODS[args[1]] ? args[1] : 'last_30d'
  const r = range(period)
  const cur = { from: r.from, to: r.to }
  const known = await cost({ group_by: 'customer', ...cur, limit: 200 })
  const picker = h(
    'form',
    {
      class: 'controls',
      onsubmit: (e) => {
        e.preventDefault()
        const v = new FormData(e.target).get('customer')
        location.hash = `#/customer/${encodeURIComponent(String(v))}/${period}`
      },
    },
    h(
      'label',
      {},
      'Customer ',
      h('input', { name: 'customer', id: 'customer', list: 'customers', value: name, required: true }),
    ),
    h(
      'datalist',
      { id: 'customers' },
      known.filter((c) => c.customer !== '').map((c) => h('option', { value: c.customer })),
    ),
    h(
      'select',
      {
        id: 'period',
        onchange: (e) => (location.hash = `#/customer/${encodeURIComponent(name)}/${e.target.value}`),
      },
      Object.entries(PERIODS).map(([k, v]) => h('option', { value: k, selected: k === period }, v.label)),
    ),
    h('button', { type: 'submit' }, 'Show'),
  )
  root.append(h('h1', {}, name ? `Customer ${name}` : 'Customer'), picker)
  if (!name) {
    root.append(notice('Pick a customer (the ten most expensive of the period are on the Spend page).'))
    return
  }
  const filter = { customer: name }
  const [total, previous, budgets, metrics, alerts, rules, ...parts] = await Promise.all([
    cost({ group_by: 'customer', ...filter, ...cur }),
    cost({ group_by: 'customer', ...filter, ...r.previous }),
    api('api/budgets').catch(() => ({ budgets: [] })),
    metricsText()
      .then(parseMetrics)
      .catch(() => []),
    optional(api('api/alerts', { query: { since: r.from, limit: 500 } }), { alerts: [] }),
    optional(
      api('api/rules', { query: { state: 'all', scope_kind: 'customer', scope_id: name, limit: 50 } }),
      { rules: [] },
    ),
    ...DIMENSIONS.map((d) => cost({ group_by: d, ...filter, ...cur })),
  ])
  // by day reads best in date order (the API answers most expensive first)
  parts[DIMENSIONS.indexOf('day')].sort((a, b) => (a.day < b.day ? 1 : -1))
  const t = total[0]
  const p = previous[0]
  const mine = alerts.alerts.filter((a) => a.scope.kind === 'customer' && a.scope.id === name)
  const scoped = budgets.budgets.filter((b) => b.scope?.customer === name || b.scope?.customer === '*')
  root.append(
    h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'muted' }, `Spend, ${PERIODS[period].label.toLowerCase()}`),
        h(
          'span',
          {
            class: 'value',
            id: 'customer-total',
            'data-value': t?.cost_usd ?? 0,
            'data-from': r.from,
            'data-to': r.to,
          },
          money(t?.cost_usd ?? 0).textContent,
        ),
      ),
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'muted' }, 'Previous period'),
        h(
          'span',
          { class: 'value', id: 'customer-previous', 'data-value': p?.cost_usd ?? 0 },
          money(p?.cost_usd ?? 0).textContent,
        ),
      ),
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'muted' }, 'Requests'),
        h('span', { class: 'value' }, int(t?.requests ?? 0)),
      ),
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'muted' }, 'Failures'),
        h('span', { class: 'value' }, int(t?.failures ?? 0)),
      ),
    ),
    h(
      'section',
      { class: 'card', id: 'customer-budgets' },
      h('h2', {}, 'Budgets'),
      scoped.length === 0
        ? notice('No budget covers this customer.')
        : [
            ...budgetSeries(metrics, `customer:${name}`).map(budgetBar),
            h(
              'p',
              { class: 'muted' },
              scoped.map((b) => `${b.name}: ${b.limit_usd} USD per ${b.period} (${b.source})`).join('; '),
            ),
          ],
    ),
    h(
      'div',
      { class: 'grid' },
      DIMENSIONS.map((d, i) => breakdown(d, parts[i])),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Alerts in this period'),
      table(
        ['state', 'type', 'severity', 'started', 'summary'],
        mine.map((a) =>
          h(
            'tr',
            {},
            h('td', { class: `state-${a.state}` }, a.state),
            h('td', {}, a.type),
            h('td', {}, a.severity),
            h('td', {}, when(a.started_at)),
            h('td', {}, a.summary),
          ),
        ),
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Guardrail rules'),
      table(
        ['state', 'action', 'expires', 'reason'],
        rules.rules.map((x) =>
          h(
            'tr',
            {},
            h('td', { class: `state-${x.state}` }, x.state),
            h('td', {}, x.action.action),
            h('td', {}, when(x.expires_at)),
            h('td', {}, x.reason.kind === 'alert' ? x.reason.summary : x.reason.why),
          ),
        ),
      ),
    ),
  )
}
