import { test } from 'node:test'
import assert from 'node:assert/strict'
import { budgetPeriod } from '../detectors/periods.js'
import { budget, detectors, HOUR, t } from '../../test/support/detector-fixtures.js'
import { budgetPlan } from './budget-round.js'
import { budgetReadings, MAX_SCOPES_PER_EACH_BUDGET, windowLabel } from './budget-readings.js'

const now = t('2026-11-24T12:00:00Z')
const MIN = 60_000

test('window labels', () => {
  const cases: Array<[number, string]> = [
    [5 * MIN, '5m'],
    [HOUR, '1h'],
    [6 * HOUR, '6h'],
    [24 * HOUR, '1d'],
    [3 * 24 * HOUR, '3d'],
    [90 * MIN, '90m'],
    [1500, '1.5s'],
  ]
  for (const [ms, want] of cases) assert.equal(windowLabel(ms), want)
})

test('a fixed budget: spend, limit, burn per window as a multiple of limit/period, the recent-rate forecast', () => {
  // $24 a day = $1/h sustainable; 12 h into the day, $6 spent, $2 in the last hour, $3 in the last 6 h
  const acme = budget({ name: 'acme-daily', scope: { customer: 'acme' }, limit_usd: 24, period: 'day' })
  const cfg = detectors({
    burn_rate: {
      windows: [
        { long: '6h', short: '1h', factor: 2, severity: 'ticket' },
        { long: '1d', short: '6h', factor: 1.5, severity: 'info' },
      ],
    },
  })
  const plan = budgetPlan({ budgets: [acme], detectors: cfg })
  const windowSpend = { [HOUR]: 2, [6 * HOUR]: 3, [24 * HOUR]: 6 }
  const [r, ...rest] = budgetReadings(
    [
      {
        budget: acme,
        period: budgetPeriod(acme, now),
        rows: [{ scopeId: 'acme', periodSpend: 6, windowSpend }],
      },
    ],
    plan,
    now,
  )
  assert.equal(rest.length, 0)
  assert.deepEqual(
    { ...r, burn: r!.burn },
    {
      budget: 'acme-daily',
      scope: 'customer:acme',
      period: 'day',
      spendUsd: 6,
      limitUsd: 24,
      burn: [
        { window: '1h', rate: 2 },
        { window: '6h', rate: 0.5 },
        { window: '1d', rate: 0.25 },
      ],
      // recent window 6 h: $0.5/h, $18 left -> 36 h from now
      exhaustsAt: now + 36 * HOUR,
    },
  )
})

test('a global budget has scope "global"; no spend in the windows -> no forecast', () => {
  const all = budget({ name: 'all', scope: {}, limit_usd: 1000, period: 'month' })
  const plan = budgetPlan({ budgets: [all], detectors: detectors() })
  const rows = [
    { scopeId: '', periodSpend: 0, windowSpend: Object.fromEntries(plan.windows.map((w) => [w, 0])) },
  ]
  const [r] = budgetReadings([{ budget: all, period: budgetPeriod(all, now), rows }], plan, now)
  assert.equal(r!.scope, 'global')
  assert.equal(r!.exhaustsAt, null)
  assert.ok(r!.burn.every((b) => b.rate === 0))
})

test('a "*" budget: one reading per value, at most the most spent ones, in scope order', () => {
  const each = budget({ name: 'each', scope: { customer: '*' }, limit_usd: 10, period: 'day' })
  const plan = budgetPlan({ budgets: [each], detectors: detectors() })
  const n = MAX_SCOPES_PER_EACH_BUDGET + 5
  const rows = Array.from({ length: n }, (_, i) => ({
    scopeId: `c${String(i).padStart(3, '0')}`,
    periodSpend: i,
    windowSpend: {},
  }))
  const out = budgetReadings([{ budget: each, period: budgetPeriod(each, now), rows }], plan, now)
  assert.equal(out.length, MAX_SCOPES_PER_EACH_BUDGET)
  assert.equal(out[0]!.scope, 'customer:c005')
  assert.equal(out.at(-1)!.scope, `customer:c${n - 1}`)
})
