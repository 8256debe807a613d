// Budget bars: spend and limit of each budget's current period, as the detectors judge them, read from the
// per-budget gauges on /metrics (gatewarden_budget_spend_usd / _limit_usd, labelled budget and scope).
import { h, usd } from './dom.js'
import { samples } from './metrics.js'

/** Every budget series on /metrics for one scope (`customer:acme`), or all when `scope` is undefined. */
export function budgetSeries(metrics, scope) {
  const spend = samples(metrics, 'gatewarden_budget_spend_usd')
  return spend
    .filter((s) => scope === undefined || s.labels.scope === scope)
    .map((s) => {
      const limit = samples(metrics, 'gatewarden_budget_limit_usd', {
        budget: s.labels.budget,
        scope: s.labels.scope,
      })[0]
      const exhausts = samples(metrics, 'gatewarden_budget_exhausts_at_seconds', {
        budget: s.labels.budget,
        scope: s.labels.scope,
      })[0]
      return {
        budget: s.labels.budget,
        scope: s.labels.scope,
        period: s.labels.period ?? '',
        spend: s.value,
        limit: limit?.value,
        exhaustsAt: exhausts && exhausts.value > 0 ? exhausts.value : undefined,
      }
    })
}

/** One bar: `acme-monthly $300.00 of $500.00 (month)`; the bar's length is the ratio of the two. */
export function budgetBar(b) {
  const ratio = b.limit ? b.spend / b.limit : 0
  const cls = ratio >= 1 ? 'bar over' : ratio >= 0.8 ? 'bar warn' : 'bar'
  return h(
    'div',
    { class: 'budget', 'data-budget': b.budget, 'data-spend': b.spend, 'data-limit': b.limit ?? '' },
    h('span', { class: cls }, h('span', { style: { width: `${Math.min(100, ratio * 100)}%` } })),
    `${b.budget}: ${usd(b.spend)} of ${b.limit === undefined ? '?' : usd(b.limit)}${b.period ? ` (${b.period})` : ''}`,
  )
}
