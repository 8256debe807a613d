import type { Metrics } from '../../adapters/telemetry/metrics.js'
import type { DetectionEngine } from './engine.js'

/**
 * Per-budget gauges (from the budget leader's last round; other instances export none) and open alerts
 * by type and severity. Budgets are bounded by config, so these series are too; customer-level spend
 * stays in ClickHouse.
 */
export function registerBudgetGauges(metrics: Pick<Metrics, 'gauge'>, engine: DetectionEngine): void {
  const per = <T>(read: (r: ReturnType<DetectionEngine['budgetReadings']>[number]) => T) =>
    engine.budgetReadings().map(read)
  const labels = (r: { budget: string; scope: string; period: string }) => ({
    budget: r.budget,
    scope: r.scope,
    period: r.period,
  })
  metrics.gauge('gatewarden_budget_spend_usd', 'Spend of the budget period so far (USD)', () =>
    per((r) => ({ value: r.spendUsd, attributes: labels(r) })),
  )
  metrics.gauge('gatewarden_budget_limit_usd', 'Budget limit per period (USD)', () =>
    per((r) => ({ value: r.limitUsd, attributes: labels(r) })),
  )
  metrics.gauge(
    'gatewarden_budget_burn_rate',
    'Spend rate over the window as a multiple of the sustainable rate (limit / period)',
    () =>
      engine
        .budgetReadings()
        .flatMap((r) =>
          r.burn.map((b) => ({ value: b.rate, attributes: { ...labels(r), window: b.window } })),
        ),
  )
  metrics.gauge(
    'gatewarden_budget_exhausts_at_seconds',
    'When the budget runs out at the recent rate (Unix seconds); absent when it does not this way',
    () =>
      engine
        .budgetReadings()
        .filter((r) => r.exhaustsAt !== null)
        .map((r) => ({ value: Math.round(r.exhaustsAt! / 1000), attributes: labels(r) })),
  )
  metrics.gauge('gatewarden_alerts_open', 'Alerts firing now, by detector type and severity', () => {
    const counts = new Map<string, { type: string; severity: string; n: number }>()
    for (const a of engine.openAlerts()) {
      const k = `${a.type}\u0000${a.severity}`
      const c = counts.get(k) ?? { type: a.type, severity: a.severity, n: 0 }
      c.n++
      counts.set(k, c)
    }
    return [...counts.values()].map((c) => ({
      value: c.n,
      attributes: { type: c.type, severity: c.severity },
    }))
  })
}
