import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { clickHouseHourlySpendReader } from '../../adapters/clickhouse/hourly-spend.js'
import { insertRequests } from '../../adapters/clickhouse/requests-table.js'
import { DetectorRunner } from '../../core/detectors/runner.js'
import { spendAnomalyReplaySince, storedSpendRead } from '../../core/detectors/spend-anomaly.js'
import { readStoredSpendHistory } from '../../services/detect/event-detectors.js'
import type { ScopeSpendHistory } from '../../core/ports/hourly-spend-reader.js'
import { DetectorsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { ev, HOUR, MIN, t } from '../support/detector-fixtures.js'
import { freshStore } from '../support/store.js'
import { spendHistoryOf } from '../support/stored-spend.js'

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
  // the range starts after the first events (their hours must not count as first), ends before the last
  const fromHour = H0 / HOUR + 2
  const toHour = H0 / HOUR + 30
  const hours = [H0 / HOUR, ...Array.from({ length: 12 }, (_, k) => fromHour + 3 * k), toHour, toHour + 1]
  const norm = (xs: ScopeSpendHistory[]) =>
    xs
      .map((x) => ({ ...x, costs: x.costs.map((c) => Math.round(c * 1e9)) }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  for (const scope of [{ customer: '*' }, { key: '*' }, { key: 'alias-only' }, { model: 'gpt-4o' }, {}]) {
    const got = norm(await reader.spendHistory(scope, fromHour, toHour, hours))
    assert.deepEqual(got, norm(spendHistoryOf(events, scope, fromHour, toHour, hours)), JSON.stringify(scope))
    assert.ok(got.length > 0 && got.every((x) => x.first >= fromHour && x.hours.length > 0))
  }
  // a value with no row in the range is not answered; no hours asked: firsts only
  assert.deepEqual(await reader.spendHistory({ customer: 'nobody' }, fromHour, toHour, hours), [])
  const firsts = await reader.spendHistory({ customer: '*' }, fromHour, toHour, [])
  assert.deepEqual(norm(firsts), norm(spendHistoryOf(events, { customer: '*' }, fromHour, toHour, [])))
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
  // what EventDetectors does: recent events and the open alert keys at restore, then the history of
  // each hour read from spend_by_hour when the hour starts (the events of the hour before stored by then)
  const cfg = detectors.spend_anomaly
  const reader = clickHouseHourlySpendReader(s)
  const restored = DetectorRunner.restore(policy, {
    events: before.filter((e) => e.ts >= spendAnomalyReplaySince(crash)),
    open: new Set(['spend_anomaly:customer:acme']),
    now: crash,
    spendHistoryFromStore: true,
  })
  let read = 0
  const handOver = async (at: number) => {
    const h = restored.runner.spendHistoryWanted(at)
    if (h === null) return
    // the read EventDetectors makes
    const history = await readStoredSpendHistory(reader, cfg, h)
    assert.equal(
      history.series.get('customer\u0000acme')!.first,
      Math.max(storedSpendRead(cfg, h).fromHour, start / HOUR),
    )
    restored.runner.setSpendHistory(history)
    read++
  }
  await handOver(crash)
  const rest = events.filter((e) => e.ts >= crash)
  const second = [...restored.findings]
  for (let b = Math.floor(crash / HOUR) * HOUR + HOUR; b <= spike + 3 * HOUR; b += HOUR) {
    const hour = rest.filter((e) => e.ts < b && e.ts >= b - HOUR)
    second.push(...hour.flatMap((e) => restored.runner.push(e)), ...restored.runner.tickUntil(b - 1))
    if (hour.length > 0) await insertRequests(s.client, s.database, hour, randomUUID())
    await handOver(b)
  }
  second.push(...restored.runner.tickUntil(spike + 3 * HOUR))
  assert.equal(read, 4)
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
