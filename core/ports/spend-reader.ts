import type { BudgetScope } from '../../schemas/policy.js'

/** Spend of one scope value: in each trailing window, and since the period start. */
export interface ScopeSpend {
  scopeId: string
  periodSpend: number
  /** Spend in `[at - w, at)` for every window `w` (ms) asked for. */
  windowSpend: Record<number, number>
}

/**
 * GLOBAL spend per budget scope (every instance's events), what the live budget detectors judge.
 * MUST: one row per scope value with spend in `[min(periodStart, at - max window), at)`; a fixed or
 * global scope with no spend still answers one zero row; `{ key: v }` matches the key hash or alias and
 * answers scopeId `v`; `{ x: '*' }` answers one row per value seen (never the empty value); `{ tier: t }`
 * answers one row per customer with spend on calls of tier `t` (scopeId = the customer, no zero row).
 */
export interface SpendReader {
  budgetSpend(
    scope: BudgetScope,
    at: number,
    periodStart: number,
    windowsMs: readonly number[],
  ): Promise<ScopeSpend[]>
}
