import { GatewardenError } from '../../core/errors.js'
import type { BudgetEvent, BudgetStore } from '../../core/ports/budget-store.js'
import { actionProblem } from '../../core/rules/rule-from-alert.js'
import { Budget } from '../../schemas/policy.js'

/** A budget as the API lists it: where it comes from (the config file, or the API). */
export type ListedBudget = Budget & { source: 'config' | 'api' }

/**
 * Budgets at runtime: the configured ones (read-only here) and the ones made through the API, stored
 * and audited. The detection engine reads `runtime()` at each leader tick.
 */
export function budgetApi(deps: {
  store: BudgetStore
  configured: readonly Budget[]
  gatewayModels: readonly string[]
  now: () => number
}) {
  const configured = new Map(deps.configured.map((b) => [b.name, b]))
  const readonly = (name: string) =>
    new GatewardenError(
      'GW_BUDGET_READONLY',
      `budget ${name} comes from the config file: change it there (the API manages only its own budgets)`,
      false,
    )
  return {
    runtime: () => deps.store.list(),
    async list(): Promise<ListedBudget[]> {
      const runtime = (await deps.store.list()).filter((b) => !configured.has(b.name))
      return [
        ...deps.configured.map((b) => ({ ...b, source: 'config' as const })),
        ...runtime.map((b) => ({ ...b, source: 'api' as const })),
      ]
    },
    async get(name: string): Promise<{ budget: ListedBudget; events: BudgetEvent[] } | undefined> {
      const fromConfig = configured.get(name)
      if (fromConfig) return { budget: { ...fromConfig, source: 'config' }, events: [] }
      const b = (await deps.store.list()).find((x) => x.name === name)
      return b ? { budget: { ...b, source: 'api' }, events: await deps.store.events(name) } : undefined
    },
    async put(
      name: string,
      input: unknown,
      actor: string,
    ): Promise<{ budget: ListedBudget; event: BudgetEvent }> {
      if (configured.has(name)) throw readonly(name)
      const parsed = Budget.safeParse({ ...(input as object), name })
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        throw new GatewardenError(
          'GW_BAD_REQUEST',
          `${issue?.path.join('.') || 'budget'}: ${issue?.message}`,
          false,
        )
      }
      const action = parsed.data.on_exhausted
      const problem = action ? actionProblem(action, deps.gatewayModels) : null
      if (problem) throw new GatewardenError('GW_BAD_REQUEST', `on_exhausted: ${problem}`, false)
      const event = await deps.store.put(parsed.data, actor, deps.now())
      return { budget: { ...parsed.data, source: 'api' }, event }
    },
    async remove(name: string, actor: string): Promise<BudgetEvent | undefined> {
      if (configured.has(name)) throw readonly(name)
      return deps.store.remove(name, actor, deps.now())
    },
  }
}

export type BudgetApi = ReturnType<typeof budgetApi>
