import type { BudgetScope } from '../../schemas/policy.js'

/** One scope value's stored spend per minute, as `MinuteSpendReader.minuteSpend` answers it. */
export interface ScopeMinuteSpend {
  /** The scope's dimension (`global` for `{}`). */
  kind: string
  /** The value as `budgetScopeId` gives it (a key's hash, else its alias; a team by its id only: the rollups keep no team alias). */
  id: string
  /** Epoch minutes (ms / 60 000) with a stored row, ascending. */
  minutes: number[]
  /** Spend (USD) and requests in each of `minutes`. */
  costs: number[]
  requests: number[]
}

/**
 * Spend and requests per minute per scope value from the store's minute rollup: what the spend anomaly
 * detector's window held before a restart, read as sums instead of replaying every event of it.
 * MUST: one entry per value of `scope` with a row in epoch minutes `[fromMinute, toMinute)`, its minutes
 * ascending with their summed spend and requests. `{ x: '*' }` answers every value seen except the empty
 * one, `{ x: v }` only `v` (a key by hash or alias), `{}` one `global` entry with id '' (as
 * `HourlySpendReader`).
 */
export interface MinuteSpendReader {
  minuteSpend(scope: BudgetScope, fromMinute: number, toMinute: number): Promise<ScopeMinuteSpend[]>
}
