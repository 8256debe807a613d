import type { HourlySpendRow } from '../detectors/spend-anomaly.js'
import type { BudgetScope } from '../../schemas/policy.js'

export type { HourlySpendRow }

/**
 * Hourly spend per scope value from the store's hourly rollup: what the spend anomaly detector's
 * baselines are rebuilt from after a restart (weeks of history, too much to replay as events).
 * MUST: one row per (scope value, hour) with spend or requests in `[fromMs, toMs)` (hour starts, whole
 * hours), `kind` the scope's dimension (`global` for `{}`) and `id` the value as `budgetScopeId` gives it
 * (a key's hash, else its alias); `{ x: '*' }` answers every value seen except the empty one, `{ x: v }`
 * only `v`.
 */
export interface HourlySpendReader {
  hourlySpend(scope: BudgetScope, fromMs: number, toMs: number): Promise<HourlySpendRow[]>
}
