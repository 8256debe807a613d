import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { clickHouseHourlySpendReader } from '../../adapters/clickhouse/hourly-spend.js'
import { insertRequests } from '../../adapters/clickhouse/requests-table.js'
import { DetectorRunner } from '../../core/detectors/runner.js'
import { spendAnomalyHistoryRange, spendAnomalyReplaySince } from '../../core/detectors/spend-anomaly.js'
import { DetectorsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { ev, HOUR, MIN, t } from '../support/detector-fixtures.js'
import { freshStore } from '../support/store.js'

const opened: StoreClient[] = []
after(async () => {
  for (const s of opened) await s.client.close()
})

const H0 = t('2026-11-02T00:00:00Z')

test('hourly spend for the anomaly baselines: per scope value and hour from spend_by_hour, equal to the raw sums', async () => {
  const s = await freshStore('hourly_spend')
  opened.push(s)
  const events: RequestEvent[] = []
  for (let i = 0; i < 300; i++)
    events.push(
      ev({
        event_id: `h-${i}`,
        ts: H0 + i * 7 * MIN,
        customer: i % 3 === 0 ? '' : `c${i % 4}`,
        api_key_hash: i % 5 === 0 ? '' : `k${i % 2}`,
        api_key_alias: i % 5 === 0 ? 'alias-only' : '',
        model: i % 2 ? 'gpt-4o' : 'gpt-4o-mini',
        cost_usd: 0.001 * (i % 7),
      }),
    )
  // two inserts: the rollup holds several parts per hour until they merge; the reader must sum them
  await insertRequests(s.client, s.database, events.slice(0, 150), randomUUID())
  await insertRequests(s.client, s.database, events.slice(150), randomUUID())
  const reader = clickHouseHourlySpendReader(s)
  const from = H0
  const to = H0 + 30 * HOUR
  const expect = (value: (e: RequestEvent) => string, kind: string, only?: string) => {
    const m = new Map<string, { cost: number; requests: number }>()
    for (const e of events) {
      const id = value(e)
      if (id === '' || e.ts >= to || (only !== undefined && id !== only)) continue
      const k = `${id}\u0000${Math.floor(e.ts / HOUR) * HOUR}`
      const r = m.get(k) ?? { cost: 0, requests: 0 }
      r.cost += e.cost_usd
      r.requests++
      m.set(k, r)
    }
    return [...m].map(([k, r]) => {
      const [id, hour] = k.split('\u0000') as [string, string]
      return { kind, id, hour: Number(hour), cost_usd: Math.round(r.cost * 1e9), requests: r.requests }
    })
  }
  const got = async (scope: Record<string, string>) =>
    (await reader.hourlySpend(scope, from, to)).map((r) => ({ ...r, cost_usd: Math.round(r.cost_usd * 1e9) }))
  const sort = <T extends { id: string; hour: number }>(xs: T[]) =>
    [...xs].sort((a, b) => a.hour - b.hour || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  assert.deepEqual(sort(await got({ customer: '*' })), sort(expect((e) => e.customer, 'customer')))
  assert.deepEqual(
    sort(await got({ key: '*' })),
    sort(expect((e) => (e.api_key_hash !== '' ? e.api_key_hash : e.api_key_alias), 'key')),
  )
  assert.deepEqual(sort(await got({ model: 'gpt-4o' })), sort(expect((e) => e.model, 'model', 'gpt-4o')))
  assert.deepEqual(sort(await got({})), sort(expect(() => 'all', 'global').map((r) => ({ ...r, id: '' }))))
  assert.ok((await got({ customer: '*' })).length > 20)
})

test('restore from the store: baselines rebuilt from spend_by_hour, an anomaly open at the restart does not re-fire', async () => {
  const s = await freshStore('hourly_restore')
  opened.push(s)
  const detectors = DetectorsConfig.parse({
    loop: { enabled: false },
    zombie: { enabled: false },
    spend_anomaly: { scopes: [{ customer: '*' }] },
  })
  const policy = { budgets: [], detectors }
  // two weeks of $3/h for acme (a request a minute), then a $30/h spike from Mon 03:00
  const start = H0
  const spike = H0 + 14 * 24 * HOUR + 3 * HOUR
  const events: RequestEvent[] = []
  for (let m = start; m < spike + HOUR; m += MIN)
    events.push(ev({ event_id: `b-${m}`, ts: m, customer: 'acme', cost_usd: 0.05 }))
  for (let m = spike; m < spike + HOUR; m += 6_000)
    events.push(ev({ event_id: `s-${m}`, ts: m, customer: 'acme', cost_usd: 0.05 }))
  events.sort((a, b) => a.ts - b.ts || (a.event_id < b.event_id ? -1 : 1))
  const crash = spike + 30 * MIN
  const before = events.filter((e) => e.ts < crash)
  for (let i = 0; i < before.length; i += 5000)
    await insertRequests(s.client, s.database, before.slice(i, i + 5000), randomUUID())
  const live = new DetectorRunner(policy)
  const firstLife = [...before.flatMap((e) => live.push(e)), ...live.tickUntil(crash)]
  assert.deepEqual(
    firstLife.map((f) => `${f.state} ${f.dedupe_key}`),
    ['firing spend_anomaly:customer:acme'],
  )
  // what EventDetectors.restore does: history from the rollup, recent events, the open alert keys
  const { from, to } = spendAnomalyHistoryRange(detectors.spend_anomaly, crash)
  const history = await clickHouseHourlySpendReader(s).hourlySpend({ customer: '*' }, from, to)
  assert.equal(history.length, Math.floor((to - start) / HOUR))
  const restored = DetectorRunner.restore(policy, {
    events: before.filter((e) => e.ts >= spendAnomalyReplaySince(crash)),
    open: new Set(['spend_anomaly:customer:acme']),
    now: crash,
    history,
  })
  const rest = events.filter((e) => e.ts >= crash)
  const second = [
    ...restored.findings,
    ...rest.flatMap((e) => restored.runner.push(e)),
    ...restored.runner.tickUntil(spike + 3 * HOUR),
  ]
  assert.deepEqual(
    second.map((f) => `${f.state} ${f.dedupe_key}`),
    ['resolved spend_anomaly:customer:acme'],
  )
  // without the rollup the baseline is gone (a day of history is needed): nothing is judged, nothing fires
  const blind = DetectorRunner.restore(policy, {
    events: before.filter((e) => e.ts >= spendAnomalyReplaySince(crash)),
    open: new Set(),
    now: crash,
  })
  assert.deepEqual(
    rest.flatMap((e) => blind.runner.push(e)).filter((f) => f.state === 'firing'),
    [],
  )
})
