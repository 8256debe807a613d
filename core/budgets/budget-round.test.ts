import { test } from 'node:test'
import assert from 'node:assert/strict'
import { burnRateKey } from '../detectors/burn-rate.js'
import { budgetPeriod } from '../detectors/periods.js'
import { budget, detectors, HOUR, t } from '../../test/support/detector-fixtures.js'
import { budgetPlan, budgetQueries, evaluateBudgetRound, restoreBudgetAlertState } from './budget-round.js'

const acme = budget({ name: 'acme', scope: { customer: '*' }, limit_usd: 24, period: 'day' })
const now = t('2026-11-24T12:00:00Z')

test('the recent window is the one closest to 6 h, whatever the windows', () => {
  const cases: Array<[unknown[] | undefined, number]> = [
    [undefined, 6 * HOUR],
    [[{ long: '3d', short: '1h', factor: 2, severity: 'ticket' }], HOUR],
    [
      [
        { long: '1h', short: '5m', factor: 10, severity: 'page' },
        { long: '3d', short: '6h', factor: 2, severity: 'ticket' },
      ],
      6 * HOUR,
    ],
    [[{ long: '1d', short: '2h', factor: 3, severity: 'ticket' }], 2 * HOUR],
  ]
  for (const [windows, want] of cases) {
    const cfg = detectors(windows ? { burn_rate: { windows } } : {})
    assert.equal(
      budgetPlan({ budgets: [acme], detectors: cfg }).recentWindowMs,
      want,
      JSON.stringify(windows),
    )
  }
})

test('an open scope with no spend row is evaluated with zeros and resolves; budgets off -> no queries, no findings', () => {
  const cfg = detectors()
  const policy = { budgets: [acme], detectors: cfg }
  const plan = budgetPlan(policy)
  const state = restoreBudgetAlertState([burnRateKey('acme', 'page', 'customer', 'quiet')])
  const input = { budget: acme, period: budgetPeriod(acme, now), rows: [] }
  const r = evaluateBudgetRound(state, policy, plan, [input], now)
  assert.deepEqual(
    r.findings.map((f) => `${f.state} ${f.dedupe_key}`),
    [`resolved ${burnRateKey('acme', 'page', 'customer', 'quiet')}`],
  )
  const off = {
    budgets: [acme],
    detectors: detectors({ burn_rate: { enabled: false }, budget_exhaustion: { enabled: false } }),
  }
  assert.deepEqual(budgetQueries(off, budgetPlan(off), now), [])
  assert.deepEqual(evaluateBudgetRound(state, off, budgetPlan(off), [input], now).findings, [])
})

test('scopes are judged in scope id order, whatever order the source answers in', () => {
  const cfg = detectors({ burn_rate: { enabled: false } })
  const policy = { budgets: [acme], detectors: cfg }
  const plan = budgetPlan(policy)
  const row = (scopeId: string) => ({
    scopeId,
    periodSpend: 30,
    windowSpend: Object.fromEntries(plan.windows.map((w) => [w, 0])),
  })
  const input = { budget: acme, period: budgetPeriod(acme, now), rows: [row('zeta'), row('alpha')] }
  const r = evaluateBudgetRound(restoreBudgetAlertState([]), policy, plan, [input], now)
  assert.deepEqual(
    r.findings.map((f) => f.scope.id),
    ['alpha', 'zeta'],
  )
})
