import {
  budgetPlan,
  budgetQueries,
  evaluateBudgetRound,
  initBudgetAlertState,
  restoreBudgetAlertState,
  type BudgetAlertState,
  type BudgetPlan,
  type BudgetPolicy,
  type BudgetSpend,
} from '../../core/budgets/budget-round.js'
import type { Finding } from '../../core/detectors/finding.js'
import type { SpendReader } from '../../core/ports/spend-reader.js'

/**
 * The leader's budget round on each tick: GLOBAL sums from the store (`SpendReader` port) fed to the
 * one budget evaluation in core (`evaluateBudgetRound`), the same the replay runner feeds from its ledger.
 * A round that fails to read spend changes no state (the next tick evaluates again).
 */
export class BudgetTick {
  #state: BudgetAlertState = initBudgetAlertState()
  readonly #plan: BudgetPlan

  constructor(
    private readonly spend: SpendReader,
    private readonly policy: BudgetPolicy,
  ) {
    this.#plan = budgetPlan(policy)
  }

  /** Takes over the open budget alerts (keys) a new leader finds in the store: none re-fires. */
  adopt(openKeys: Iterable<string>): void {
    this.#state = restoreBudgetAlertState(openKeys)
  }

  /** Forgets every budget alert (leadership moved: they belong to the new leader). */
  drop(): void {
    this.#state = initBudgetAlertState()
  }

  /** One round at `now`: every budget's spend rows from the store, then the core evaluation. */
  async evaluate(now: number): Promise<Finding[]> {
    const inputs: BudgetSpend[] = []
    for (const q of budgetQueries(this.policy, this.#plan, now)) {
      const rows = await this.spend.budgetSpend(q.budget.scope, now, q.period.start, this.#plan.windows)
      inputs.push({ ...q, rows })
    }
    const s = evaluateBudgetRound(this.#state, this.policy, this.#plan, inputs, now)
    this.#state = s.state
    return s.findings
  }
}
