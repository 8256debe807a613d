import type { Rule, RuleEvent, RuleScopeKind } from '../../schemas/rule.js'
import type { RuleChange } from '../rules/rule-transitions.js'

/** Filters of GET /api/rules. `in_force`: pending or active. */
export interface RuleFilter {
  state: 'in_force' | 'all'
  scope_kind?: RuleScopeKind | undefined
  scope_id?: string | undefined
  limit: number
}

/**
 * Where rules and their audit live (implemented by the ClickHouse adapter, and in memory for tests).
 * MUST: `write` resolves only once the new versions AND their audit rows are durable; a retried write of
 * the same changes does not add audit rows twice.
 */
export interface RuleStore {
  write(changes: readonly RuleChange[]): Promise<void>
  /** Rules in force, plus every rule updated at or after `since` (epoch ms). */
  load(since: number): Promise<Rule[]>
  get(id: string): Promise<Rule | undefined>
  list(filter: RuleFilter): Promise<Rule[]>
  /** A rule's audit, oldest first. */
  events(ruleId: string): Promise<RuleEvent[]>
}
