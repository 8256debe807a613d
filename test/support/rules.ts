import type { GatewayTarget, TargetOutcome } from '../../core/ports/gateway-target.js'
import type { RulePolicy } from '../../core/rules/rule-from-alert.js'
import { Rule } from '../../schemas/rule.js'

/** A valid enforced Rule (block of customer acme, one hour) with `over` applied, parsed by the contract. */
export function makeRule(over: Partial<Rule> = {}): Rule {
  const t0 = 1_800_000_000_000
  return Rule.parse({
    id: 'rule-1',
    scope: { kind: 'customer', id: 'acme' },
    action: { action: 'block' },
    reason: { kind: 'manual', by: 'ops', why: 'runaway loop' },
    mode: 'enforce',
    state: 'pending',
    created_at: t0,
    updated_at: t0,
    expires_at: t0 + 3_600_000,
    ended_by: null,
    targets: [],
    ...over,
  })
}

/** A retry clock that never waits: the policy's attempts run back to back, deterministically. */
export const instantClock = { now: () => 0, sleep: async () => {}, random: () => 0.5 }

/** The enforcer policy the rule tests share: enforce, 1 h downgrades, 15 min blocks, lift on resolve. */
export function enforcePolicy(): RulePolicy {
  return {
    enforcement: {
      mode: 'enforce',
      ttl: { downgrade: 3_600_000, block: 900_000 },
      lift_on_resolve: true,
      gateway_models: [],
    },
  }
}

/**
 * A push target that records its calls (`apply <id>`, `remove <id>`) and answers from a script, 200 when
 * the script is spent: for tests of the enforcer, where the target itself is not under test.
 */
export class ScriptedTarget implements GatewayTarget {
  readonly calls: string[] = []
  constructor(
    readonly name: string,
    private readonly answers: TargetOutcome[] = [],
  ) {}
  supports(): boolean {
    return true
  }
  apply(rule: Rule): Promise<TargetOutcome> {
    this.calls.push(`apply ${rule.id}`)
    return Promise.resolve(this.answers.shift() ?? { ok: true, answer: '200' })
  }
  remove(rule: Rule): Promise<TargetOutcome> {
    this.calls.push(`remove ${rule.id}`)
    return Promise.resolve(this.answers.shift() ?? { ok: true, answer: '200' })
  }
}
