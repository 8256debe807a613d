import type { RuleFilter, RuleStore } from '../../core/ports/rule-store.js'
import type { RuleChange } from '../../core/rules/rule-transitions.js'
import { inForce } from '../../core/rules/rule-transitions.js'
import type { Rule, RuleEvent } from '../../schemas/rule.js'

/** A RuleStore in memory, for unit tests of the enforcer; `failWrites(n)` makes the next n writes throw. */
export class MemoryRuleStore implements RuleStore {
  readonly rules = new Map<string, Rule>()
  readonly log: RuleEvent[] = []
  writes = 0
  #failures = 0

  failWrites(n: number): void {
    this.#failures = n
  }

  write(changes: readonly RuleChange[]): Promise<void> {
    if (this.#failures > 0) {
      this.#failures--
      return Promise.reject(new Error('store down (injected)'))
    }
    this.writes++
    for (const c of changes) {
      this.rules.set(c.rule.id, structuredClone(c.rule))
      this.log.push(c.event)
    }
    return Promise.resolve()
  }

  load(since: number): Promise<Rule[]> {
    return Promise.resolve([...this.rules.values()].filter((r) => inForce(r) || r.updated_at >= since))
  }

  get(id: string): Promise<Rule | undefined> {
    return Promise.resolve(this.rules.get(id))
  }

  list(f: RuleFilter): Promise<Rule[]> {
    return Promise.resolve(
      [...this.rules.values()]
        .filter((r) => f.state === 'all' || inForce(r))
        .filter((r) => !f.scope_kind || r.scope.kind === f.scope_kind)
        .filter((r) => !f.scope_id || r.scope.id === f.scope_id)
        .slice(0, f.limit),
    )
  }

  events(ruleId: string): Promise<RuleEvent[]> {
    return Promise.resolve(this.log.filter((e) => e.rule_id === ruleId))
  }
}
