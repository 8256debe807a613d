import { budgetScopeKind, isEachBudget } from '../detectors/budget-scope.js'
import { forecastExhaustion } from '../detectors/forecast.js'
import { periodHours } from '../detectors/periods.js'
import type { BudgetPlan, BudgetSpend } from './budget-round.js'

/** At most this many scopes of one `"*"` budget are exposed (the most spent): bounded gauge series. */
export const MAX_SCOPES_PER_EACH_BUDGET = 100

/** One budget scope as the last round saw it: what the per-budget gauges on /metrics show. */
export interface BudgetReading {
  budget: string
  /** `customer:acme`, `global`; a `"*"` budget has one reading per value with spend. */
  scope: string
  period: string
  spendUsd: number
  limitUsd: number
  /** Spend rate over each burn-rate window as a multiple of the sustainable rate `limit / period`. */
  burn: Array<{ window: string; rate: number }>
  /** When the budget runs out at the recent rate (epoch ms; the exhaustion detector's forecast), or null. */
  exhaustsAt: number | null
}

/** `300000` -> `5m`, `3600000` -> `1h`, `86400000` -> `1d`. */
export function windowLabel(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`
  return `${ms / 1000}s`
}

/**
 * The readings of one budget round's inputs (the same rows the detectors judged), with the detectors'
 * own arithmetic: burn = window rate / sustainable rate, exhaustion = `forecastExhaustion`.
 */
export function budgetReadings(
  inputs: readonly BudgetSpend[],
  plan: BudgetPlan,
  now: number,
): BudgetReading[] {
  const out: BudgetReading[] = []
  for (const { budget, period, rows } of inputs) {
    const kind = budgetScopeKind(budget)
    const sustainablePerH = budget.limit_usd / periodHours(period)
    const chosen = isEachBudget(budget)
      ? [...rows].sort((a, b) => b.periodSpend - a.periodSpend).slice(0, MAX_SCOPES_PER_EACH_BUDGET)
      : rows
    for (const r of [...chosen].sort((a, b) =>
      a.scopeId < b.scopeId ? -1 : a.scopeId > b.scopeId ? 1 : 0,
    )) {
      const fc = forecastExhaustion(
        {
          budget,
          scopeId: r.scopeId,
          at: now,
          period,
          periodSpend: r.periodSpend,
          windowSpend: r.windowSpend,
        },
        plan.recentWindowMs,
      )
      out.push({
        budget: budget.name,
        scope: kind === 'global' ? 'global' : `${kind}:${r.scopeId}`,
        period: budget.period,
        spendUsd: r.periodSpend,
        limitUsd: budget.limit_usd,
        burn: plan.windows.map((w) => ({
          window: windowLabel(w),
          rate: sustainablePerH > 0 ? (r.windowSpend[w] ?? 0) / (w / 3_600_000) / sustainablePerH : 0,
        })),
        exhaustsAt: fc.at,
      })
    }
  }
  return out
}
