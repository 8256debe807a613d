import { test } from 'node:test'
import assert from 'node:assert/strict'
import { burnWindows, BudgetSpendLedger } from './spend-snapshot.js'
import { budget, DAY, detectors, ev, HOUR, MIN, t } from '../../test/support/detector-fixtures.js'

const W = burnWindows(detectors()) // 5m 30m 1h 2h 6h 1d 3d
const T0 = t('2026-11-26T12:00:00Z')
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`)

test('burnWindows lists every long and short window once, ascending', () => {
  assert.deepEqual(W, [5 * MIN, 30 * MIN, HOUR, 2 * HOUR, 6 * HOUR, DAY, 3 * DAY])
})

test('window and period sums are exact on bucket boundaries', () => {
  const acme = budget({ name: 'acme', scope: { customer: 'acme' }, limit_usd: 500 })
  const l = new BudgetSpendLedger([acme], W)
  // $1 every minute for the 3 days before T0, customer acme; noise from another customer.
  for (let m = 3 * 24 * 60; m >= 1; m--) {
    l.add(ev({ ts: T0 - m * MIN, customer: 'acme', cost_usd: 1 }))
    l.add(ev({ ts: T0 - m * MIN, customer: 'other', cost_usd: 5 }))
  }
  const s = l.snapshot(acme, 'acme', T0)
  const cases: Array<[number, number]> = [
    [5 * MIN, 5],
    [30 * MIN, 30],
    [HOUR, 60],
    [2 * HOUR, 120],
    [6 * HOUR, 360],
    [DAY, 1440],
    [3 * DAY, 4320],
  ]
  for (const [w, want] of cases) close(s.windowSpend[w]!, want)
  // Nov 1 .. Nov 26 12:00: only the 3 fed days fall in it.
  close(s.periodSpend, 4320)
  assert.equal(s.period.start, t('2026-11-01T00:00:00Z'))
})

test('a window edge inside a bucket counts that bucket pro rata', () => {
  const b = budget({ scope: {} })
  const l = new BudgetSpendLedger([b], [5 * MIN])
  l.add(ev({ ts: T0 - 5 * MIN - 30_000, cost_usd: 6 })) // bucket [T0-6m, T0-5m)
  l.add(ev({ ts: T0 - 5 * MIN + 10_000, cost_usd: 2 })) // bucket [T0-5m, T0-4m)
  // At T0 + 30 s the window starts at T0 - 4m30s: half of the second bucket.
  close(l.snapshot(b, '', T0 + 30_000).windowSpend[5 * MIN]!, 1)
  close(l.snapshot(b, '', T0).windowSpend[5 * MIN]!, 2)
  close(l.snapshot(b, '', T0 - 30_000).windowSpend[5 * MIN]!, 2 + 3)
})

test('long windows use hour buckets beyond the fine span', () => {
  const b = budget({ scope: {} })
  const l = new BudgetSpendLedger([b], [HOUR, DAY])
  for (let h = 30; h >= 1; h--) l.add(ev({ ts: T0 - h * HOUR, cost_usd: 10 }))
  close(l.snapshot(b, '', T0).windowSpend[DAY]!, 240)
  close(l.snapshot(b, '', T0 + 30 * MIN).windowSpend[DAY]!, 235) // first bucket half in
})

test('period totals roll over at the boundary in the budget time zone', () => {
  const b = budget({ period: 'day', timezone: 'Europe/Paris' })
  const l = new BudgetSpendLedger([b], [HOUR])
  l.add(ev({ ts: t('2026-11-26T22:30:00Z'), cost_usd: 3 })) // 23:30 Paris, Nov 26
  l.add(ev({ ts: t('2026-11-26T23:10:00Z'), cost_usd: 4 })) // 00:10 Paris, Nov 27
  close(l.snapshot(b, '', t('2026-11-26T22:59:00Z')).periodSpend, 3)
  close(l.snapshot(b, '', t('2026-11-26T23:30:00Z')).periodSpend, 4)
  // A late event of the previous day still counts toward that day.
  l.add(ev({ ts: t('2026-11-26T22:45:00Z'), cost_usd: 1 }))
  close(l.snapshot(b, '', t('2026-11-26T22:59:00Z')).periodSpend, 4)
  close(l.snapshot(b, '', t('2026-11-26T23:30:00Z')).periodSpend, 4)
})

test('"*" budgets get one scope per value; empty values never count', () => {
  const each = budget({ name: 'each', scope: { customer: '*' } })
  const l = new BudgetSpendLedger([each], [HOUR])
  l.add(ev({ ts: T0, customer: 'b', cost_usd: 1 }))
  l.add(ev({ ts: T0, customer: 'a', cost_usd: 2 }))
  l.add(ev({ ts: T0, customer: '', cost_usd: 100 }))
  assert.deepEqual(l.scopeIds(each), ['a', 'b'])
  assert.deepEqual(
    l.snapshots(T0 + MIN).map((s) => [s.scopeId, s.periodSpend]),
    [
      ['a', 2],
      ['b', 1],
    ],
  )
})

test('a key budget matches the key hash or its alias; a team budget the id or alias', () => {
  const byAlias = budget({ name: 'k', scope: { key: 'batch-key' } })
  const team = budget({ name: 't', scope: { team: 'ml' } })
  const l = new BudgetSpendLedger([byAlias, team], [HOUR])
  assert.equal(l.add(ev({ ts: T0, api_key_hash: 'h1', api_key_alias: 'batch-key', cost_usd: 1 })).length, 1)
  assert.equal(l.add(ev({ ts: T0, api_key_hash: 'batch-key', cost_usd: 1 })).length, 1)
  assert.equal(l.add(ev({ ts: T0, api_key_hash: 'h2', api_key_alias: 'other', cost_usd: 1 })).length, 0)
  l.add(ev({ ts: T0, team: 't-1', team_alias: 'ml', cost_usd: 5 }))
  close(l.snapshot(byAlias, 'batch-key', T0 + MIN).periodSpend, 2)
  close(l.snapshot(team, 'ml', T0 + MIN).periodSpend, 5)
})

test('eviction: 100k distinct scopes keep the ledger under its cap', () => {
  const each = budget({ name: 'each', scope: { customer: '*' } })
  const l = new BudgetSpendLedger([each], W, { maxScopes: 1000 })
  for (let i = 0; i < 100_000; i++) l.add(ev({ ts: T0 + i, customer: `c${i}`, cost_usd: 0.01 }))
  assert.ok(l.size <= 1000 && l.size >= 900, `${l.size}`)
  assert.equal(l.evicted, 100_000 - l.size)
  assert.equal(l.scopeIds(each).length, l.size)
  assert.ok(l.scopeIds(each).includes('c99999'), 'the newest scope is kept')
})

test('sweep drops idle scopes once their windows and periods are over', () => {
  const each = budget({ name: 'each', scope: { customer: '*' }, period: 'day' })
  const l = new BudgetSpendLedger([each], [HOUR, DAY])
  l.add(ev({ ts: T0, customer: 'idle', cost_usd: 1 }))
  l.add(ev({ ts: T0 + 2 * DAY, customer: 'busy', cost_usd: 1 }))
  l.sweep(T0 + 2 * DAY)
  assert.deepEqual(l.scopeIds(each), ['busy'])
})

test('fine buckets are trimmed to the fine span', () => {
  const b = budget({ scope: {} })
  const l = new BudgetSpendLedger([b], [5 * MIN, DAY])
  for (let m = 0; m < 24 * 60; m++) l.add(ev({ ts: T0 + m * MIN, cost_usd: 1 }))
  const json = l.toJSON()
  const [, s] = json.series[0]!
  assert.ok(s.fine.starts.length <= 6 * 60 + 1, `fine buckets ${s.fine.starts.length}`)
  assert.ok(s.coarse.starts.length <= 25)
})

test('toJSON/fromJSON round-trips through JSON text', () => {
  const b = budget({ scope: { customer: '*' } })
  const l = new BudgetSpendLedger([b], W)
  for (let i = 0; i < 500; i++) l.add(ev({ ts: T0 + i * 7_000, customer: `c${i % 3}`, cost_usd: 0.25 }))
  const back = BudgetSpendLedger.fromJSON(JSON.parse(JSON.stringify(l.toJSON())), [b], W)
  assert.deepEqual(back.snapshots(T0 + HOUR), l.snapshots(T0 + HOUR))
})

test('a { tier } budget is one scope per customer of that tier, apart from a { customer: "*" } budget', () => {
  const pro = budget({ name: 'pro', scope: { tier: 'pro' } })
  const each = budget({ name: 'each', scope: { customer: '*' } })
  const l = new BudgetSpendLedger([pro, each], [HOUR])
  assert.equal(l.add(ev({ ts: T0, customer: 'a', tier: 'pro', cost_usd: 2 })).length, 2)
  // a's free-tier calls count toward its customer budget, not toward the pro one
  assert.equal(l.add(ev({ ts: T0, customer: 'a', tier: 'free', cost_usd: 5 })).length, 1)
  l.add(ev({ ts: T0, customer: 'b', tier: 'pro', cost_usd: 1 }))
  // a tier without a customer is nobody's
  assert.equal(l.add(ev({ ts: T0, customer: '', tier: 'pro', cost_usd: 100 })).length, 0)
  assert.deepEqual(l.scopeIds(pro), ['a', 'b'])
  assert.deepEqual(
    l.snapshots(T0 + MIN).map((s) => [s.budget.name, s.scopeId, s.periodSpend]),
    [
      ['pro', 'a', 2],
      ['pro', 'b', 1],
      ['each', 'a', 7],
      ['each', 'b', 1],
    ],
  )
})
