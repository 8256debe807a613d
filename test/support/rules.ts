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
