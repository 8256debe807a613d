import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { clickHouseCostReader, costNeeds, queryCost } from '../../adapters/clickhouse/cost-query.js'
import { migrate } from '../../adapters/clickhouse/migrate.js'
import { repairRollups } from '../../adapters/clickhouse/rollup-repair.js'
import { deleteSettings } from '../../adapters/clickhouse/settings.js'
import { clickHouseEventStore } from '../../adapters/clickhouse/store.js'
import { createStoreClient } from '../../adapters/clickhouse/client.js'
import { costSegments, planCostQuery } from '../../core/cost-plan.js'
import { CostQuery } from '../../schemas/api.js'
import { StoreConfig } from '../../schemas/config.js'
import { MIGRATIONS } from '../../schemas/migrations/index.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { litellmEvent } from '../support/events.js'
import { sumRows } from '../../core/cost-rows.js'
import { freshStore, rows, silentLog, testDataDir } from '../support/store.js'

const opened: StoreClient[] = []
after(async () => {
  for (const s of opened) await s.client.close()
})

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** 00:00 UTC four days ago: inside the minute rollup's TTL whenever the test runs. */
const DAY0 = Math.floor(Date.now() / DAY) * DAY - 4 * DAY

/** `n` events from DAY0 - 5 h, one every 7 min 13.5 s (so across hours, days and minute edges). */
function events(prefix: string, n: number): RequestEvent[] {
  return Array.from({ length: n }, (_, i) =>
    litellmEvent({
      id: `${prefix}-${i}`,
      customer: ['acme', 'globex', '', 'initech', 'umbrella'][i % 5]!,
      tier: ['pro', 'free', ''][i % 3]!,
      cost: ((i % 7) + 1) * 0.0001234567,
      ts: DAY0 - 5 * HOUR + i * 433_500,
      model: ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet'][i % 4 === 0 ? 2 : i % 2]!,
      key: `key-${i % 6}`,
      tokens: [100 + i, 10 + (i % 50)],
    }),
  )
}

const GROUP_BYS = [
  'customer',
  'tier',
  'customer,tier',
  'day',
  'customer,day',
  'model,endpoint',
  'key',
  'hour',
]
const FILTERS: Array<Record<string, string>> = [{}, { customer: 'acme' }, { tier: 'pro' }, { key: 'key-2' }]
/** Ranges over ~2.5 days: whole days, whole hours, whole minutes, and ends inside a minute. */
const RANGES: Array<[number, number]> = [
  [DAY0, DAY0 + 2 * DAY],
  [DAY0 - 3 * HOUR, DAY0 + 2 * DAY + 5 * HOUR],
  [DAY0 - 3 * HOUR - 17 * 60_000, DAY0 + 2 * DAY + 41 * 60_000],
  [DAY0 - 3 * HOUR - 17 * 60_000 - 1234, DAY0 + 2 * DAY + 41 * 60_000 + 4321],
  [DAY0 + 5 * 60_000 + 1, DAY0 + 50 * 60_000 - 1],
]

test('every part of a range read from the coarsest table that covers it gives exactly what raw rows give', async () => {
  const s = await freshStore('segments')
  opened.push(s)
  const all = events('seg', 600)
  const es = clickHouseEventStore(s)
  for (let i = 0; i < all.length; i += 200) await es.insertRequests(all.slice(i, i + 200), `seg-${i}`)
  const reader = clickHouseCostReader(s)
  const nowMs = Date.now()
  const tables = new Set<string>()
  // plans where one table answers two parts of the range (both edges): read as one OR-ed read of it
  let twoParts = 0
  for (const [fromMs, toMs] of RANGES)
    for (const group_by of GROUP_BYS)
      for (const filter of FILTERS) {
        const q = CostQuery.parse({
          group_by,
          from: new Date(fromMs).toISOString(),
          to: new Date(toMs).toISOString(),
          ...filter,
        })
        const plan = planCostQuery(q, nowMs, 35)
        assert.ok(!('error' in plan))
        const segs = costSegments(plan, costNeeds(q), plan.minuteFromMs, q.customer !== undefined)
        for (const seg of segs) tables.add(seg.table)
        if (new Set(segs.map((seg) => seg.table)).size < segs.length) twoParts++
        const raw = await queryCost(s.client, s.database, q, { ...plan, source: 'requests' })
        const got = await reader.cost(q, plan)
        const what = `${group_by} ${JSON.stringify(filter)} ${new Date(fromMs).toISOString()}..${new Date(toMs).toISOString()}`
        assert.ok(raw.length > 0, `${what}: some rows`)
        assert.deepEqual(got, raw, what)
        const totals = await reader.cost({ ...q, group_by: [] }, plan)
        assert.deepEqual(
          totals,
          await queryCost(s.client, s.database, { ...q, group_by: [] }, { ...plan, source: 'requests' }),
          `${what}: totals`,
        )
        // the one-read form: the same rows, and the total over every group, even past the limit
        assert.deepEqual(
          await reader.costWithTotal!(q, plan),
          { rows: got, total: totals[0] },
          `${what}: one read`,
        )
        if (got.length > 1) {
          const cut = await reader.costWithTotal!({ ...q, limit: 1 }, plan)
          assert.deepEqual(cut, { rows: got.slice(0, 1), total: totals[0] }, `${what}: one read, limit 1`)
        }
      }
  // nothing in range: no row, a zero total (the one-read form carries its total on the rows)
  const empty = CostQuery.parse({
    group_by: 'customer',
    from: '2001-01-01T00:00:00Z',
    to: '2001-02-01T00:00:00Z',
  })
  const emptyPlan = planCostQuery(empty, nowMs, 35)
  assert.ok(!('error' in emptyPlan))
  assert.deepEqual(await reader.costWithTotal!(empty, emptyPlan), { rows: [], total: sumRows([]) })
  assert.ok(twoParts > 0, 'some range has both edges in one table')
  // every table took part somewhere (else the comparison above proves nothing about it)
  assert.deepEqual([...tables].sort(), [
    'requests',
    'spend_by_customer_day',
    'spend_by_hour',
    'spend_by_minute',
  ])
})

test('the daily rollup: backfilled from the hourly one on upgrade (sums checked), and repaired by whole days', async () => {
  const s = createStoreClient(
    StoreConfig.parse({
      data_dir: testDataDir(),
      database: `segments_upgrade_${process.pid}`,
      clickhouse_url: process.env.CLICKHOUSE_URL || undefined,
    }),
  )
  opened.push(s)
  await migrate(
    s,
    silentLog,
    MIGRATIONS.filter((m) => m.version < 11),
  )
  const es = clickHouseEventStore(s)
  const old = events('old', 300)
  await es.insertRequests(old, 'old-batch')
  await migrate(s, silentLog)
  await migrate(s, silentLog) // every start runs every statement again: the backfill does not run twice
  const byDay = (table: string, count: string) =>
    rows<{ d: string; n: string; c: string }>(
      s,
      `SELECT toString(toDate(${table === 'requests' ? 'ts' : 'day'})) d, toString(${count}) n, toString(sum(cost_usd)) c
FROM {{db}}.${table} GROUP BY d ORDER BY d`,
    )
  const raw = await byDay('requests', 'count()')
  assert.ok(raw.length >= 3, 'events over several days')
  assert.deepEqual(await byDay('spend_by_customer_day', 'sum(requests)'), raw)

  // new events reach it through its view
  await es.insertRequests(events('new', 300), 'new-batch')
  const raw2 = await byDay('requests', 'count()')
  assert.deepEqual(await byDay('spend_by_customer_day', 'sum(requests)'), raw2)

  // a lost part of one day is found and rebuilt from raw rows, the other days left alone
  const lostDay = new Date(DAY0 + DAY).toISOString()
  await s.client.command({
    query: `DELETE FROM ${s.database}.spend_by_customer_day WHERE day = toDateTime({d:UInt32}, 'UTC') AND customer = 'acme'`,
    query_params: { d: (DAY0 + DAY) / 1000 },
    clickhouse_settings: deleteSettings(s.kind),
  })
  assert.notDeepEqual(await byDay('spend_by_customer_day', 'sum(requests)'), raw2)
  const report = await repairRollups(s, { windowHours: 24, retentionDays: 0 }, silentLog)
  assert.deepEqual(
    report.repaired.filter((d) => d.table === 'spend_by_customer_day').map((d) => d.hour),
    [lostDay],
  )
  assert.deepEqual(report.unrepaired, [])
  assert.deepEqual(await byDay('spend_by_customer_day', 'sum(requests)'), raw2)
})
