import type { BudgetScope } from '../../schemas/policy.js'

/** One scope value's stored hourly spend, as `HourlySpendReader.spendHistory` answers it. */
export interface ScopeSpendHistory {
  /** The scope's dimension (`global` for `{}`). */
  kind: string
  /** The value as `budgetScopeId` gives it (a key's hash, else its alias; a team by its id only: the rollups keep no team alias). */
  id: string
  /** First epoch hour (ms / 3 600 000) with a stored row in the range asked. */
  first: number
  /** The epoch hours asked for that have spend or requests, ascending, and their spend (USD). */
  hours: number[]
  costs: number[]
}

/**
 * Hourly spend per scope value from the store's hourly rollup: the spend anomaly detector's baselines
 * (weeks of history, read for the hours each baseline needs instead of held in memory).
 * MUST: one entry per value of `scope` with a row in epoch hours `[fromHour, toHour)`; `first` its first
 * such hour; `hours`/`costs` the spend summed per hour for the epoch hours of `hours` (sorted) that it has.
 * `{ x: '*' }` answers every value seen except the empty one, `{ x: v }` only `v`, `{}` one `global` entry
 * with id ''.
 */
export interface HourlySpendReader {
  spendHistory(
    scope: BudgetScope,
    fromHour: number,
    toHour: number,
    hours: readonly number[],
  ): Promise<ScopeSpendHistory[]>
}
