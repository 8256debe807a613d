import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Budget } from '../../schemas/policy.js'
import {
  evaluateBudgetExhaustion,
  forecastKey,
  initBudgetExhaustionState,
  openExhaustionScopes,
  restoreBudgetExhaustionState,
  retireBudgetExhaustion,
  thresholdKey,
  type BudgetExhaustionState,
} from './budget-exhaustion.js'
import type { Finding } from './finding.js'
import { budgetPeriod } from './periods.js'
import type { BudgetSnapshot } from './spend-snapshot.js'
import { budget, detectors, HOUR, t } from '../../test/support/detector-fixtures.js'

const cfg = detectors().budget_exhaustion
const acme = budget({
  name: 'acme-monthly',
  scope: { customer: 'acme' },
  limit_usd: 500,
  on_exhausted: { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } },
})

/** Snapshot with `spent` this period and `recent` $/h over the 6 h window (other windows idle). */
function snap(at: string | number, spent: number, recent = 0, b: Budget = acme): BudgetSnapshot {
  const ms = typeof at === 'number' ? at : t(at)
  return {
    budget: b,
    scopeId: 'acme',
    at: ms,
    period: budgetPeriod(b, ms),
    periodSpend: spent,
    windowSpend: { [HOUR]: recent, [6 * HOUR]: recent * 6 },
  }
}

function run(steps: BudgetSnapshot[], state: BudgetExhaustionState = initBudgetExhaustionState()) {
  const all: Finding[][] = []
  for (const s of steps) {
    const r = evaluateBudgetExhaustion(state, s, cfg, s.at)
    state = r.state
    all.push(r.findings)
  }
  return { state, all }
}
const brief = (all: Finding[][], only?: 'threshold' | 'forecast') =>
  all.map((fs) =>
    fs
      .filter((f) => !only || f.details.kind === only)
      .map(
        (f) =>
          `${f.state} ${String(f.details.kind)}${f.details.kind === 'threshold' ? ` ${String(f.details.threshold)}` : ''}`,
      ),
  )

test('thresholds fire once per period, 1.0 carries on_exhausted, all resolve at rollover', () => {
  const { all, state } = run([
    snap('2026-11-03T00:00:00Z', 100),
    snap('2026-11-05T00:00:00Z', 260),
    snap('2026-11-06T00:00:00Z', 261),
    snap('2026-11-10T00:00:00Z', 410),
    snap('2026-11-12T00:00:00Z', 480),
    snap('2026-11-14T00:00:00Z', 500),
    snap('2026-11-15T00:00:00Z', 520),
    snap('2026-12-01T00:00:05Z', 0.5),
  ])
  assert.deepEqual(brief(all, 'threshold'), [
    [],
    ['firing threshold 0.5'],
    [],
    ['firing threshold 0.8'],
    ['firing threshold 0.95'],
    ['firing threshold 1'],
    [],
    ['resolved threshold 0.5', 'resolved threshold 0.8', 'resolved threshold 0.95', 'resolved threshold 1'],
  ])
  const exhausted = all[5]!.find((f) => f.details.threshold === 1)!
  assert.deepEqual(exhausted.action, { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } })
  assert.equal(exhausted.severity, 'page')
  assert.equal(exhausted.dedupe_key, 'budget_exhaustion:acme-monthly:threshold:1:customer:acme')
  assert.equal(exhausted.details.exhausted, true)
  assert.match(
    exhausted.summary,
    /customer acme exhausted its \$500 monthly budget acme-monthly \(\$500 spent, 100%\); on_exhausted: downgrade/,
  )
  assert.equal(all[1]![0]!.severity, 'info')
  assert.equal(all[3]![0]!.severity, 'ticket')
  assert.match(all[7]![0]!.summary, /cleared: the period rolled over/)
  assert.deepEqual(state.entries, {})
})

test('thresholds crossed together fire once, as the highest; 1.0 always on its own', () => {
  const { all } = run([snap('2026-11-10T00:00:00Z', 485), snap('2026-11-11T00:00:00Z', 600)])
  assert.deepEqual(brief(all, 'threshold'), [['firing threshold 0.95'], ['firing threshold 1']])
  const jump = run([snap('2026-11-10T00:00:00Z', 700)])
  assert.deepEqual(brief(jump.all, 'threshold'), [['firing threshold 1']])
})

test('a threshold list without 1.0 still gets the exhaustion finding', () => {
  const r = evaluateBudgetExhaustion(
    initBudgetExhaustionState(),
    snap('2026-11-10T00:00:00Z', 510),
    { ...cfg, thresholds: [0.5] },
    0,
  )
  assert.deepEqual(
    r.findings.map((f) => f.details.threshold),
    [1],
  )
})

test('budget raised mid-period: crossed thresholds clear against the new limit, then fire again', () => {
  const raised = { ...acme, limit_usd: 1000 }
  const { all } = run([
    snap('2026-11-10T00:00:00Z', 450),
    snap('2026-11-10T01:00:00Z', 510),
    snap('2026-11-10T02:00:00Z', 520, 0, raised),
    snap('2026-11-12T00:00:00Z', 560, 0, raised),
  ])
  assert.deepEqual(brief(all, 'threshold'), [
    ['firing threshold 0.8'],
    ['firing threshold 1'],
    ['resolved threshold 0.8', 'resolved threshold 1'],
    [],
  ])
  assert.match(all[2]!.find((f) => f.details.threshold === 1)!.summary, /cleared: the limit is now \$1000/)
  // 0.5 was skipped (crossed with 0.8) and is still crossed under the new limit: nothing to say.
})

test('budget lowered mid-period: thresholds now crossed fire', () => {
  const lowered = { ...acme, limit_usd: 250 }
  const { all } = run([snap('2026-11-10T00:00:00Z', 150), snap('2026-11-10T01:00:00Z', 150, 0, lowered)])
  assert.deepEqual(brief(all), [[], ['firing threshold 0.5']])
})

test('forecast: "customer acme will exhaust its $500 monthly budget on Nov 28 at 14:00 UTC"', () => {
  // $48 left at $2/h over the last 6 h: 24 h from Nov 27 14:00, inside the 24 h horizon.
  const { all } = run([snap('2026-11-27T14:00:00Z', 452, 2)])
  const f = all[0]!.find((x) => x.details.kind === 'forecast')!
  assert.equal(f.state, 'firing')
  assert.equal(f.dedupe_key, forecastKey('acme-monthly', 'customer', 'acme'))
  assert.match(
    f.summary,
    /^customer acme will exhaust its \$500 monthly budget acme-monthly on Nov 28 at 14:00 UTC/,
  )
  assert.match(f.summary, /\(\$48 left, at the last 6h rate of \$2\/h\)/)
  assert.equal(f.details.forecast_at, '2026-11-28T14:00:00.000Z')
  assert.equal(f.details.basis, 'recent')
  assert.equal(f.details.hours_to_exhaustion, 24)
})

test('forecast in the budget time zone', () => {
  const paris = { ...acme, timezone: 'Europe/Paris' }
  const { all } = run([snap('2026-11-27T14:00:00Z', 452, 2, paris)])
  assert.match(all[0]!.find((x) => x.details.kind === 'forecast')!.summary, /on Nov 28 at 15:00 GMT\+1/)
})

const forecastTable: Array<{ name: string; at: string; spent: number; recent: number; fires: boolean }> = [
  { name: 'outside the horizon', at: '2026-11-20T00:00:00Z', spent: 400, recent: 2, fires: false },
  { name: 'inside the horizon', at: '2026-11-20T00:00:00Z', spent: 460, recent: 2, fires: true },
  { name: 'after the period end', at: '2026-11-30T12:00:00Z', spent: 470, recent: 2, fires: false },
  { name: 'no recent spend, slow month', at: '2026-11-20T00:00:00Z', spent: 300, recent: 0, fires: false },
  // 490 spent in 19 days = $1.07/h: the projection runs out in 9.3 h, but nothing is spent now.
  {
    name: 'period-to-date projection alone (no spend now)',
    at: '2026-11-20T00:00:00Z',
    spent: 490,
    recent: 0,
    fires: false,
  },
  // $450 left at $20/h: 22.5 h; but 50 spent in 4 days projects past Dec 1: a burst (burn rate's job).
  {
    name: 'recent burst alone (the period average is fine)',
    at: '2026-11-05T00:00:00Z',
    spent: 50,
    recent: 20,
    fires: false,
  },
  // the same burst when the period-to-date projection also runs out this month
  {
    name: 'recent rate and projection agree',
    at: '2026-11-05T00:00:00Z',
    spent: 160,
    recent: 20,
    fires: true,
  },
]
for (const c of forecastTable) {
  test(`forecast: ${c.name}`, () => {
    const { all } = run([snap(c.at, c.spent, c.recent)])
    assert.equal(
      all[0]!.some((f) => f.details.kind === 'forecast' && f.state === 'firing'),
      c.fires,
    )
  })
}

test('forecast: period-to-date projection ignored in the first hour of a period', () => {
  const { all } = run([snap('2026-11-01T00:30:00Z', 400, 0)])
  assert.deepEqual(brief(all), [['firing threshold 0.8']])
})

test('forecast: hysteresis, then resolves when spend slows; superseded at exhaustion', () => {
  const { all } = run([
    snap('2026-11-20T00:00:00Z', 440, 3), // $60 left at $3/h: 20 h, fires
    snap('2026-11-20T01:00:00Z', 441, 1.5), // 39 h: inside twice the horizon, stays open
    snap('2026-11-20T02:00:00Z', 442, 0.5), // 116 h (period-to-date: 60 h): resolved
    snap('2026-11-20T03:00:00Z', 450, 10), // 5 h: fires again
    snap('2026-11-20T09:00:00Z', 501, 5), // exhausted: forecast resolved, 1.0 fires
  ])
  assert.deepEqual(brief(all, 'forecast'), [
    ['firing forecast'],
    [],
    ['resolved forecast'],
    ['firing forecast'],
    ['resolved forecast'],
  ])
  assert.deepEqual(brief(all, 'threshold')[4], ['firing threshold 1'])
  assert.match(all[2]![0]!.summary, /no longer forecast to exhaust .*: spend slowed down/)
  assert.match(all[4]!.find((f) => f.details.kind === 'forecast')!.summary, /the budget is exhausted/)
})

test('restored from open keys: still-crossed thresholds stay open silently, rollover resolves them', () => {
  const open = [
    thresholdKey('acme-monthly', 0.8, 'customer', 'acme'),
    forecastKey('acme-monthly', 'customer', 'acme'),
    'burn_rate:x:page:global:',
  ]
  const state = restoreBudgetExhaustionState(open)
  assert.equal(openExhaustionScopes(state, 0).length, 1)
  const { all } = run(
    [
      snap('2026-11-20T00:00:00Z', 420, 2), // 80% crossed (0.5 was skipped or resolved: silent); forecast 40 h: kept
      snap('2026-11-20T01:00:00Z', 421, 0.1),
      snap('2026-12-01T00:01:00Z', 1),
    ],
    state,
  )
  assert.deepEqual(brief(all), [[], ['resolved forecast'], ['resolved threshold 0.8']])
})

test('restored after a rollover: thresholds no longer crossed resolve at once', () => {
  const state = restoreBudgetExhaustionState([thresholdKey('acme-monthly', 0.5, 'customer', 'acme')])
  const { all } = run([snap('2026-12-01T10:00:00Z', 20)], state)
  assert.deepEqual(brief(all), [['resolved threshold 0.5']])
  assert.match(all[0]![0]!.summary, /not crossed after a restart/)
})

test('state survives JSON mid-period: no duplicate firing', () => {
  const first = run([snap('2026-11-10T00:00:00Z', 410)])
  const state = JSON.parse(JSON.stringify(first.state)) as BudgetExhaustionState
  const { all } = run([snap('2026-11-10T01:00:00Z', 411), snap('2026-11-12T00:00:00Z', 476)], state)
  assert.deepEqual(brief(all, 'threshold'), [[], ['firing threshold 0.95']])
})

test('openExhaustionScopes: only what time can change', () => {
  const { state } = run([snap('2026-11-10T00:00:00Z', 410)])
  assert.equal(openExhaustionScopes(state, t('2026-11-20T00:00:00Z')).length, 0)
  assert.equal(openExhaustionScopes(state, t('2026-12-01T00:00:00Z')).length, 1)
})

test('alerts of a budget removed from the config resolve', () => {
  const { state } = run([snap('2026-11-20T00:00:00Z', 460, 2)])
  const r = retireBudgetExhaustion(state, new Set(), t('2026-11-20T01:00:00Z'))
  assert.deepEqual(
    r.findings.map((f) => f.dedupe_key),
    [thresholdKey('acme-monthly', 0.8, 'customer', 'acme'), forecastKey('acme-monthly', 'customer', 'acme')],
  )
  assert.deepEqual(r.state.entries, {})
})
