import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  burnRateKey,
  evaluateBurnRate,
  initBurnRateState,
  restoreBurnRateState,
  retireBurnRate,
  type BurnRateState,
} from './burn-rate.js'
import type { Finding } from './finding.js'
import { budgetPeriod } from './periods.js'
import type { BudgetSnapshot } from './spend-snapshot.js'
import { budget, DAY, detectors, HOUR, MIN, t } from '../../test/support/detector-fixtures.js'
import type { Budget } from '../../schemas/policy.js'

const cfg = detectors().burn_rate
// November has 720 h: $720/month is a sustainable $1/h, so burn rate = $/h.
const acme = budget({ name: 'acme-monthly', scope: { customer: 'acme' }, limit_usd: 720 })
const AT = t('2026-11-20T12:00:00Z')
const WINDOWS = {
  '5m': 5 * MIN,
  '30m': 30 * MIN,
  '1h': HOUR,
  '2h': 2 * HOUR,
  '6h': 6 * HOUR,
  '1d': DAY,
  '3d': 3 * DAY,
}
type Rates = Partial<Record<keyof typeof WINDOWS, number>>

/** A snapshot where each window burns at `rates[w]` $/h (default `base`). */
function snap(
  rates: Rates,
  opts: { base?: number; spent?: number; b?: Budget; at?: number } = {},
): BudgetSnapshot {
  const b = opts.b ?? acme
  const at = opts.at ?? AT
  const windowSpend: Record<number, number> = {}
  for (const [label, ms] of Object.entries(WINDOWS)) {
    windowSpend[ms] = (rates[label as keyof typeof WINDOWS] ?? opts.base ?? 0.5) * (ms / HOUR)
  }
  return {
    budget: b,
    scopeId: 'acme',
    at,
    period: budgetPeriod(b, at),
    periodSpend: opts.spent ?? 300,
    windowSpend,
  }
}

function run(steps: BudgetSnapshot[], state: BurnRateState = initBurnRateState()) {
  const all: Finding[][] = []
  for (const s of steps) {
    const r = evaluateBurnRate(state, s, cfg, s.at)
    state = r.state
    all.push(r.findings)
  }
  return { state, all }
}

const table: Array<{ name: string; rates: Rates; want: Array<[string, string]> }> = [
  { name: 'clean: at the sustainable rate', rates: {}, want: [] },
  { name: 'clean: 10x for 5 minutes only', rates: { '5m': 10 }, want: [] },
  { name: 'long window over, short below: no page', rates: { '1h': 20, '5m': 10 }, want: [] },
  { name: 'short window over, long below: no page', rates: { '1h': 10, '5m': 30 }, want: [] },
  { name: '1h/5m over 14.4: page', rates: { '1h': 20, '5m': 24 }, want: [['page', 'firing']] },
  { name: '6h/30m over 6: page', rates: { '6h': 7, '30m': 8 }, want: [['page', 'firing']] },
  { name: '3d/6h over 1: ticket', rates: { '3d': 1.5, '6h': 2 }, want: [['ticket', 'firing']] },
  {
    name: 'a big spike: one page and one ticket, not four alerts',
    rates: { '5m': 40, '30m': 40, '1h': 30, '2h': 30, '6h': 12, '1d': 5, '3d': 2 },
    want: [
      ['page', 'firing'],
      ['ticket', 'firing'],
    ],
  },
]

for (const c of table) {
  test(`burn rate: ${c.name}`, () => {
    const { all } = run([snap(c.rates)])
    assert.deepEqual(
      all[0]!.map((f) => [f.severity, f.state]),
      c.want,
    )
  })
}

test('burn rate: the page says how fast, how much is left and when it runs out', () => {
  const { all } = run([snap({ '1h': 20, '5m': 24 }, { spent: 620 })])
  const f = all[0]![0]!
  assert.equal(f.type, 'burn_rate')
  assert.equal(f.dedupe_key, 'burn_rate:acme-monthly:page:customer:acme')
  assert.deepEqual(f.scope, { kind: 'customer', id: 'acme' })
  assert.equal(f.details.burn_rate_short, 24)
  assert.equal(f.details.burn_rate_long, 20)
  assert.equal(f.details.rate_usd_per_h, 24)
  assert.equal(f.details.sustainable_usd_per_h, 1)
  assert.equal(f.details.remaining_usd, 100)
  assert.equal(f.details.pairs, '1h/5m')
  // $100 left at $24/h: 4h10m after 12:00.
  assert.equal(f.details.runs_out_at, '2026-11-20T16:10:00.000Z')
  assert.match(
    f.summary,
    /customer acme is burning budget acme-monthly \(\$720 monthly\) at 24x the sustainable rate/,
  )
  assert.match(
    f.summary,
    /\$24\/h over the last 5m vs \$1\/h sustainable\); \$100 left, runs out Nov 20 at 16:10 UTC/,
  )
})

test('burn rate: stays open while the short window burns, resolves when it falls back', () => {
  const steps = [
    snap({ '1h': 20, '5m': 24 }, { at: AT }),
    snap({ '1h': 20, '5m': 24 }, { at: AT + MIN }),
    snap({ '1h': 10, '5m': 20 }, { at: AT + 2 * MIN }), // long fell under 14.4: still open (short decides)
    snap({ '1h': 16, '5m': 10 }, { at: AT + 3 * MIN }), // short under: resolved
    snap({ '1h': 16, '5m': 10 }, { at: AT + 4 * MIN }),
  ]
  const { all, state } = run(steps)
  assert.deepEqual(
    all.map((fs) => fs.map((f) => f.state)),
    [['firing'], [], [], ['resolved'], []],
  )
  assert.deepEqual(state.open, {})
  assert.match(all[3]![0]!.summary, /burn back to 10x over the last 5m \(under 14\.4x\)/)
})

test('burn rate: sustainable rate uses the real period length (a 23 h Paris DST day)', () => {
  const day = budget({
    name: 'paris-day',
    scope: { customer: 'acme' },
    limit_usd: 23,
    period: 'day',
    timezone: 'Europe/Paris',
  })
  const at = t('2026-03-29T12:00:00Z')
  const { all } = run([snap({ '1h': 15, '5m': 15 }, { b: day, at, spent: 5 })])
  assert.equal(all[0]![0]!.details.sustainable_usd_per_h, 1)
  assert.equal(all[0]![0]!.details.burn_rate_short, 15)
})

test('burn rate: a limit raised mid-incident resolves it (re-evaluated on the new limit)', () => {
  const raised = { ...acme, limit_usd: 7200 }
  const { all } = run([
    snap({ '1h': 20, '5m': 24 }),
    snap({ '1h': 20, '5m': 24 }, { b: raised, at: AT + MIN }),
  ])
  assert.deepEqual(
    all.map((fs) => fs.map((f) => f.state)),
    [['firing'], ['resolved']],
  )
})

test('burn rate: restored from open keys, no re-firing; resolution still works', () => {
  const key = burnRateKey('acme-monthly', 'page', 'customer', 'acme')
  const restored = restoreBurnRateState([key, 'loop:key:k:fp:x'])
  assert.deepEqual(Object.keys(restored.open), [key])
  const { all } = run([snap({ '1h': 20, '5m': 24 }), snap({ '1h': 20, '5m': 2 }, { at: AT + MIN })], restored)
  assert.deepEqual(
    all.map((fs) => fs.map((f) => [f.dedupe_key, f.state])),
    [[], [[key, 'resolved']]],
  )
})

test('burn rate: state survives JSON (restart mid-incident)', () => {
  const first = run([snap({ '1h': 20, '5m': 24 })])
  const state = JSON.parse(JSON.stringify(first.state)) as BurnRateState
  const { all } = run(
    [snap({ '1h': 20, '5m': 24 }, { at: AT + MIN }), snap({ '5m': 1 }, { at: AT + 2 * MIN })],
    state,
  )
  assert.deepEqual(
    all.map((fs) => fs.map((f) => f.state)),
    [[], ['resolved']],
  )
})

test('burn rate: an exhausted budget says so', () => {
  const { all } = run([snap({ '1h': 20, '5m': 24 }, { spent: 800 })])
  assert.match(all[0]![0]!.summary, /budget already exhausted/)
  assert.equal(all[0]![0]!.details.remaining_usd, -80)
})

test('burn rate: alerts of a budget removed from the config resolve', () => {
  const { state } = run([snap({ '1h': 20, '5m': 24 })])
  const r = retireBurnRate(state, new Set(['other']), AT + MIN)
  assert.deepEqual(
    r.findings.map((f) => [f.state, f.dedupe_key, f.details.reason, f.final]),
    [['resolved', 'burn_rate:acme-monthly:page:customer:acme', 'budget removed', true]],
    'final: a removed budget does not wait out resolve_after',
  )
  assert.deepEqual(r.state.open, {})
  assert.equal(retireBurnRate(state, new Set(['acme-monthly']), AT).state, state)
})
