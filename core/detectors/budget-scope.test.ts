import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Budget } from '../../schemas/policy.js'
import { budget, ev, t } from '../../test/support/detector-fixtures.js'
import { budgetScope, budgetScopeId, budgetSeriesPrefix, isEachBudget } from './budget-scope.js'

const T0 = t('2026-11-02T10:00:00Z')

test('budget scopes: global, one value, each value, and a tier (each customer of it)', () => {
  const e = ev({ ts: T0, customer: 'acme', tier: 'pro', team: 't1', team_alias: 'ml' })
  const cases: Array<[Record<string, string>, string | null, { kind: string; id: string } | null]> = [
    [{}, '', { kind: 'global', id: '' }],
    [{ customer: 'acme' }, 'acme', { kind: 'customer', id: 'acme' }],
    [{ customer: 'globex' }, null, null],
    [{ customer: '*' }, 'acme', { kind: 'customer', id: 'acme' }],
    [{ team: 'ml' }, 'ml', { kind: 'team', id: 'ml' }],
    [{ tier: 'pro' }, 'acme', { kind: 'customer', id: 'acme' }],
    [{ tier: 'free' }, null, null],
  ]
  for (const [scope, id, findingScope] of cases) {
    const b = budget({ scope })
    assert.equal(budgetScopeId(b, e), id, JSON.stringify(scope))
    if (id !== null) assert.deepEqual(budgetScope(b, id), findingScope, JSON.stringify(scope))
  }
  assert.equal(isEachBudget(budget({ scope: { tier: 'pro' } })), true)
  assert.equal(budgetScopeId(budget({ scope: { tier: 'pro' } }), { ...e, customer: '' }), null)
})

test('series of different budgets over the same customer never share a key', () => {
  const prefixes = [{ customer: '*' }, { customer: 'acme' }, { tier: 'pro' }, { tier: 'free' }, {}].map(
    (scope) => budgetSeriesPrefix(budget({ scope })),
  )
  assert.equal(new Set(prefixes).size, prefixes.length)
})

test('a tier budget names one tier, never *', () => {
  const r = Budget.safeParse({ name: 'x', scope: { tier: '*' }, limit_usd: 1, period: 'day' })
  assert.ok(!r.success)
  assert.match(r.error.issues[0]!.message, /one tier/)
  assert.ok(
    !Budget.safeParse({ name: 'x', scope: { tier: 'pro', customer: 'a' }, limit_usd: 1, period: 'day' })
      .success,
  )
})
