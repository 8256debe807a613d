import type { Budget } from '../../schemas/policy.js'

/** One audited change of a runtime budget. */
export interface BudgetEvent {
  name: string
  at: number
  kind: 'created' | 'updated' | 'deleted'
  actor: string
  /** The budget before and after, as JSON ('' when none). */
  before: string
  after: string
}

/**
 * Budgets made at runtime (implemented by the ClickHouse adapter). MUST: a write resolves once the new
 * version and its audit row are durable.
 */
export interface BudgetStore {
  /** Every runtime budget not deleted. */
  list(): Promise<Budget[]>
  /** Creates or replaces `budget` (its name is the key); returns the event written. */
  put(budget: Budget, actor: string, now: number): Promise<BudgetEvent>
  /** Deletes; undefined when there was none. */
  remove(name: string, actor: string, now: number): Promise<BudgetEvent | undefined>
  events(name: string): Promise<BudgetEvent[]>
}
