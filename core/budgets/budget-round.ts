import type { ScopeSpend } from '../ports/spend-reader.js'
import {
  evaluateBudgetExhaustion,
  initBudgetExhaustionState,
  openExhaustionScopes,
  restoreBudgetExhaustionState,
  retireBudgetExhaustion,
  type BudgetExhaustionState,
} from '../detectors/budget-exhaustion.js'
import {
  evaluateBurnRate,
  initBurnRateState,
  isEmpty,
  openBurnScopes,
  restoreBurnRateState,
  retireBurnRate,
  type BurnRateState,
} from '../detectors/burn-rate.js'
import type { Finding, Step } from '../detectors/finding.js'
import { recentWindowOf } from '../detectors/forecast.js'
import { budgetPeriod, type Period } from '../detectors/periods.js'
import { burnWindows, type BudgetSnapshot } from '../detectors/spend-snapshot.js'
import type { Budget, DetectorsConfig } from '../../schemas/policy.js'

/** Alert state of both budget detectors (burn rate, exhaustion). Plain data (JSON-able). */
export interface BudgetAlertState {
  burn: BurnRateState
  exhaustion: BudgetExhaustionState
}

/** What the budget detectors need from the configuration. */
export interface BudgetPolicy {
  budgets: readonly Budget[]
  detectors: DetectorsConfig
}

/**
 * Constants of a policy's budget rounds, computed once: whether budgets are judged at all, the windows
 * every spend source must sum, and the window the exhaustion forecast calls "recent".
 */
export interface BudgetPlan {
  enabled: boolean
  /** Every burn-rate window (ms), long and short, ascending: what spend sources sum. */
  windows: readonly number[]
  /** The forecast's recent window: the window closest to 6 h (`recentWindowOf`), ONE choice for live and replay. */
  recentWindowMs: number | undefined
}

/** The spend of one budget at one instant: the rows a source has, and how to read any other scope. */
export interface BudgetSpend {
  budget: Budget
  period: Period
  /** Scopes the source offers for evaluation (store: every scope with spend; ledger: scopes with new spend). */
  rows: readonly ScopeSpend[]
  /**
   * Spend of a scope absent from `rows` that must be evaluated anyway (an open alert time can resolve).
   * Default: zeros (exact for the store, whose rows cover every scope with spend in the windows).
   */
  spendOf?: (scopeId: string) => ScopeSpend
}

export function initBudgetAlertState(): BudgetAlertState {
  return { burn: initBurnRateState(), exhaustion: initBudgetExhaustionState() }
}

/** State after a restart (or a leadership change) from the open alert keys: no alert re-fires. */
export function restoreBudgetAlertState(openKeys: Iterable<string>): BudgetAlertState {
  const keys = [...openKeys]
  return { burn: restoreBurnRateState(keys), exhaustion: restoreBudgetExhaustionState(keys) }
}

/** True when nothing is held: no tick can produce a budget finding without new spend. */
export function isBudgetStateEmpty(s: BudgetAlertState): boolean {
  return isEmpty(s.burn.open) && isEmpty(s.exhaustion.entries)
}

/** Resolves the open alerts of budgets no longer configured: `names` are the budgets that remain. */
export function retireBudgets(
  state: BudgetAlertState,
  names: ReadonlySet<string>,
  now: number,
): Step<BudgetAlertState> {
  const burn = retireBurnRate(state.burn, names, now)
  const exhaustion = retireBudgetExhaustion(state.exhaustion, names, now)
  return {
    state: { burn: burn.state, exhaustion: exhaustion.state },
    findings: [...burn.findings, ...exhaustion.findings],
  }
}

export function budgetPlan(policy: BudgetPolicy): BudgetPlan {
  const cfg = policy.detectors
  const windows = burnWindows(cfg)
  return {
    enabled: policy.budgets.length > 0 && (cfg.burn_rate.enabled || cfg.budget_exhaustion.enabled),
    windows,
    recentWindowMs: recentWindowOf(windows),
  }
}

/** The budgets to read spend for at `now`, each with its current period (none when budgets are off). */
export function budgetQueries(
  policy: BudgetPolicy,
  plan: BudgetPlan,
  now: number,
): Array<{ budget: Budget; period: Period }> {
  if (!plan.enabled) return []
  return policy.budgets.map((budget) => ({ budget, period: budgetPeriod(budget, now) }))
}

/**
 * Budget scopes that time alone can change at `now` (open burn alerts, open forecasts, ended periods,
 * restored entries): MUST be evaluated on every round, with or without new spend.
 */
export function openBudgetScopes(
  state: BudgetAlertState,
  cfg: DetectorsConfig,
  now: number,
): Array<{ budget: string; scopeId: string }> {
  return [
    ...(cfg.burn_rate.enabled ? openBurnScopes(state.burn) : []),
    ...(cfg.budget_exhaustion.enabled ? openExhaustionScopes(state.exhaustion, now) : []),
  ]
}

const zeroSpend = (windows: readonly number[]) => (scopeId: string) => ({
  scopeId,
  periodSpend: 0,
  windowSpend: Object.fromEntries(windows.map((w) => [w, 0])),
})

/**
 * One budget round at `now`, the ONLY budget evaluation (live engine and replay runner both call it):
 * per budget, the snapshot of every scope in its rows plus every open scope of that budget (spend from
 * `spendOf`, zeros by default), in scope id order; on each, burn rate then exhaustion (recent window from
 * `plan`). Budgets absent from `inputs` are skipped (their open scopes too: pass every budget that has one).
 */
export function evaluateBudgetRound(
  state: BudgetAlertState,
  policy: BudgetPolicy,
  plan: BudgetPlan,
  inputs: readonly BudgetSpend[],
  now: number,
): Step<BudgetAlertState> {
  const cfg = policy.detectors
  if (!plan.enabled) return { state, findings: [] }
  let { burn, exhaustion } = state
  const findings: Finding[] = []
  const open = openBudgetScopes(state, cfg, now)
  for (const input of inputs) {
    const { budget, period } = input
    const rows = new Map(input.rows.map((r) => [r.scopeId, r]))
    const missing = input.spendOf ?? zeroSpend(plan.windows)
    for (const s of open)
      if (s.budget === budget.name && !rows.has(s.scopeId)) rows.set(s.scopeId, missing(s.scopeId))
    for (const scopeId of [...rows.keys()].sort()) {
      const r = rows.get(scopeId)!
      const snap: BudgetSnapshot = {
        budget,
        scopeId,
        at: now,
        period,
        periodSpend: r.periodSpend,
        windowSpend: r.windowSpend,
      }
      if (cfg.burn_rate.enabled) {
        const s = evaluateBurnRate(burn, snap, cfg.burn_rate, now)
        burn = s.state
        findings.push(...s.findings)
      }
      if (cfg.budget_exhaustion.enabled) {
        const s = evaluateBudgetExhaustion(exhaustion, snap, cfg.budget_exhaustion, now, {
          recentWindowMs: plan.recentWindowMs,
        })
        exhaustion = s.state
        findings.push(...s.findings)
      }
    }
  }
  const same = burn === state.burn && exhaustion === state.exhaustion
  return { state: same ? state : { burn, exhaustion }, findings }
}
