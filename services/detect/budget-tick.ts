import {
  budgetPlan,
  budgetQueries,
  evaluateBudgetRound,
  initBudgetAlertState,
  restoreBudgetAlertState,
  retireBudgets,
  type BudgetAlertState,
  type BudgetPlan,
  type BudgetPolicy,
  type BudgetSpend,
} from '../../core/budgets/budget-round.js'
import { budgetReadings, type BudgetReading } from '../../core/budgets/budget-readings.js'
import type { Finding } from '../../core/detectors/finding.js'
import type { SpendReader } from '../../core/ports/spend-reader.js'
import type { Budget } from '../../schemas/policy.js'

/**
 * The leader's budget round on each tick: GLOBAL sums from the store (`SpendReader` port) fed to the
 * one budget evaluation in core (`evaluateBudgetRound`), the same the replay runner feeds from its ledger.
 * A round that fails to read spend changes no state (the next tick evaluates again).
 */
export class BudgetTick {
  #state: BudgetAlertState = initBudgetAlertState()
  #plan: BudgetPlan
  #policy: BudgetPolicy
  #readings: BudgetReading[] = []

  constructor(
    private readonly spend: SpendReader,
    policy: BudgetPolicy,
  ) {
    this.#policy = policy
    this.#plan = budgetPlan(policy)
  }

  /**
   * Replaces the budgets judged from the next round on (runtime budgets changed). The open alerts of any
   * budget not in `budgets` resolve now (returned); a changed limit is judged on the next round.
   */
  setBudgets(budgets: readonly Budget[], now: number): Finding[] {
    this.#policy = { ...this.#policy, budgets }
    this.#plan = budgetPlan(this.#policy)
    // every open alert of a budget not in the list resolves, also one adopted from the store whose budget
    // was deleted before this instance led (retireBudgets takes the budgets that remain)
    const s = retireBudgets(this.#state, new Set(budgets.map((b) => b.name)), now)
    this.#state = s.state
    return s.findings
  }

  /** Takes over the open budget alerts (keys) a new leader finds in the store: none re-fires. */
  adopt(openKeys: Iterable<string>): void {
    this.#state = restoreBudgetAlertState(openKeys)
  }

  /** Forgets every budget alert (leadership moved: they belong to the new leader). */
  drop(): void {
    this.#state = initBudgetAlertState()
    this.#readings = []
  }

  /** Every budget scope of the last round (spend, limit, burn rates, forecast): the per-budget gauges. */
  readings(): readonly BudgetReading[] {
    return this.#readings
  }

  /** One round at `now`: every budget's spend rows from the store, then the core evaluation. */
  async evaluate(now: number): Promise<Finding[]> {
    const inputs: BudgetSpend[] = []
    for (const q of budgetQueries(this.#policy, this.#plan, now)) {
      const rows = await this.spend.budgetSpend(q.budget.scope, now, q.period.start, this.#plan.windows)
      inputs.push({ ...q, rows })
    }
    const s = evaluateBudgetRound(this.#state, this.#policy, this.#plan, inputs, now)
    this.#state = s.state
    this.#readings = this.#plan.enabled ? budgetReadings(inputs, this.#plan, now) : []
    return s.findings
  }
}
