import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import pino from 'pino'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { queryCost } from '../../adapters/clickhouse/cost-query.js'
import { repairRollups, rebuildSelect, viewSelect } from '../../adapters/clickhouse/rollup-repair.js'
import { clickHouseEventStore } from '../../adapters/clickhouse/store.js'
import { Config } from '../../schemas/config.js'
import { CostQuery } from '../../schemas/api.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { start, type Running } from '../../services/start.js'
import { assertCostSourcesAgree } from '../support/cost-sources.js'
import { litellmEvent, round10 } from '../support/events.js'
import { freshStore, rows, silentLog, testDataDir } from '../support/store.js'

const opened: StoreClient[] = []
const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop()
  for (const s of opened) await s.client.close()
})
async function store(name: string) {
  const s = await freshStore(name)
  opened.push(s)
  return s
}

const event = litellmEvent

const HOUR = 3_600_000
/** 10:00 UTC three days ago: inside the minute rollup's TTL whenever the test runs. */
const BASE = Math.floor(Date.now() / (24 * HOUR)) * 24 * HOUR - 3 * 24 * HOUR + 10 * HOUR
/** The ISO instant `h` hours after BASE (10:00), as the repair reports hours. */
const at = (h: number) => new Date(BASE + h * HOUR).toISOString()
/** `n` events from index `from`, one every 37 s from `at`, over 4 customers, 3 models, 5 keys. */
function events(prefix: string, from: number, n: number, at: number): RequestEvent[] {
  return Array.from({ length: n }, (_, j) => {
    const i = from + j
    return event({
      id: `${prefix}-${i}`,
      customer: ['acme', 'globex', '', 'initech'][i % 4]!,
      cost: ((i % 7) + 1) * 0.0001234567,
      ts: at + j * 37_000,
      model: ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet'][i % 3]!,
      key: `key-${i % 5}`,
      tokens: [100 + i, 10 + (i % 50)],
    })
  })
}

/**
 * The torn state a kill -9 mid-insert leaves: the batch committed to `requests`, not to the rollups whose
 * views are named (detached for the insert, so nothing reaches them).
 */
async function tornInsert(s: StoreClient, rowsIn: RequestEvent[], views: string[]): Promise<void> {
  for (const v of views) await s.client.command({ query: `DETACH TABLE ${s.database}.${v}_mv` })
  try {
    await clickHouseEventStore(s).insertRequests(rowsIn, randomUUID())
  } finally {
    for (const v of views) await s.client.command({ query: `ATTACH TABLE ${s.database}.${v}_mv` })
  }
}

/** Per-hour count and cost of raw rows and of each rollup, exact (decimal text). */
async function perHour(s: StoreClient) {
  const q = (table: string, bucket: string, count: string) =>
    rows<{ h: string; n: string; c: string }>(
      s,
      `SELECT toString(toStartOfHour(${bucket})) h, toString(${count}) n, toString(sum(cost_usd)) c
       FROM {{db}}.${table} GROUP BY h ORDER BY h`,
    )
  return {
    requests: await q('requests', 'ts', 'count()'),
    spend_by_hour: await q('spend_by_hour', 'hour', 'sum(requests)'),
    spend_by_minute: await q('spend_by_minute', 'minute', 'sum(requests)'),
  }
}

/** Every rollup row (summed), for "a second run changes nothing". */
async function rollupRows(s: StoreClient) {
  const out: unknown[] = []
  for (const [t, b] of [
    ['spend_by_hour', 'hour'],
    ['spend_by_minute', 'minute'],
  ] as const)
    out.push(
      await rows(
        s,
        `SELECT toString(${b}) b, customer, team, api_key_hash, endpoint, agent, model, provider,
           toString(sum(requests)) n, toString(sum(input_tokens)) it, toString(sum(cost_usd)) c
         FROM {{db}}.${t} GROUP BY ALL ORDER BY ALL`,
      ),
    )
  return out
}

const mutations = async (s: StoreClient) =>
  Number(
    (await rows<{ n: string }>(s, "SELECT count() n FROM system.mutations WHERE database = '{{db}}'"))[0]!.n,
  )

/** A pino logger that keeps its lines, to assert on what the repair logged. */
function capturingLog() {
  const lines: Array<Record<string, unknown>> = []
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) })
  return { log, lines }
}

test('the rebuild uses the view SELECT of the migrations, reading only the filtered raw rows', () => {
  const sel = viewSelect('spend_by_hour')
  assert.match(sel, /^SELECT\s+toStartOfHour\(ts\) AS hour,/)
  assert.match(sel, /GROUP BY hour, customer, team,/)
  const filtered = rebuildSelect('spend_by_minute', 'ts > 0')
  assert.match(filtered, /FROM \(SELECT \* FROM \{\{db\}\}\.requests WHERE ts > 0\)/)
  assert.match(filtered, /toStartOfMinute\(ts\) AS minute/)
})

test('a torn insert (requests committed, rollups not) is repaired hour by hour; a second run changes nothing; the same hour torn again is repaired again', async () => {
  const s = await store('repair')
  const es = clickHouseEventStore(s)
  await es.insertRequests(events('ok', 0, 600, BASE), randomUUID()) // 10:00..16:09, all views
  // torn: both rollups miss a batch in 11:xx and 12:xx; only the minute rollup misses one in 14:xx
  await tornInsert(s, events('torn', 600, 120, BASE + HOUR + 30 * 60_000), [
    'spend_by_hour',
    'spend_by_minute',
  ])
  await tornInsert(s, events('torn', 720, 40, BASE + 4 * HOUR), ['spend_by_minute'])

  const before = await perHour(s)
  assert.notDeepEqual(before.spend_by_hour, before.requests, 'the hourly rollup is torn')
  assert.notDeepEqual(before.spend_by_minute, before.requests, 'the minute rollup is torn')

  const { log, lines } = capturingLog()
  const report = await repairRollups(s, { windowHours: 48, retentionDays: 0 }, log)
  assert.equal(report.checkedHours, 7, '10:00..16:00')
  assert.deepEqual(
    report.repaired.map((d) => `${d.table} ${d.hour}`),
    [
      `spend_by_hour ${at(1)}`,
      `spend_by_hour ${at(2)}`,
      `spend_by_minute ${at(1)}`,
      `spend_by_minute ${at(2)}`,
      `spend_by_minute ${at(4)}`,
    ],
  )
  assert.deepEqual(report.unrepaired, [])
  const d11 = report.repaired[0]!
  assert.ok(Number(d11.raw.requests) > Number(d11.rollup.requests), 'the report shows what was short')
  const repairedLines = lines.filter((l) => l.msg === 'rollup repaired from raw rows')
  assert.deepEqual(
    repairedLines.map((l) => [l.table, l.hours]),
    [
      ['spend_by_hour', [at(1), at(2)]],
      ['spend_by_minute', [at(1), at(2), at(4)]],
    ],
  )

  const healed = await perHour(s)
  assert.deepEqual(healed.spend_by_hour, healed.requests, 'hourly rollup = raw, per hour')
  assert.deepEqual(healed.spend_by_minute, healed.requests, 'minute rollup = raw, per hour')
  assert.deepEqual(healed.requests, before.requests, 'raw rows untouched')
  await assertCostSourcesAgree(s, BASE, BASE + 7 * HOUR, Date.now())

  // a second run finds nothing and touches nothing (no delete, same rows)
  const rowsBefore = await rollupRows(s)
  const mutationsBefore = await mutations(s)
  const again = await repairRollups(s, { windowHours: 48, retentionDays: 0 }, silentLog)
  assert.deepEqual([again.checkedHours, again.repaired, again.unrepaired], [7, [], []])
  assert.equal(await mutations(s), mutationsBefore, 'no delete ran')
  assert.deepEqual(await rollupRows(s), rowsBefore)

  // the same hours torn again the same way: their rebuilt block is byte-identical to the first rebuild's,
  // which content-hash deduplication drops even with insert_deduplicate 0 on chdb (the trap); a fresh
  // token per rebuild keeps it
  await s.client.command({
    query: `DELETE FROM ${s.database}.spend_by_hour WHERE hour >= toDateTime({lo:UInt32}, 'UTC') AND hour < toDateTime({hi:UInt32}, 'UTC')`,
    query_params: { lo: (BASE + HOUR) / 1000, hi: (BASE + 3 * HOUR) / 1000 },
  })
  const third = await repairRollups(s, { windowHours: 48, retentionDays: 0 }, silentLog)
  assert.deepEqual(
    third.repaired.map((d) => `${d.table} ${d.hour}`),
    [`spend_by_hour ${at(1)}`, `spend_by_hour ${at(2)}`],
  )
  assert.deepEqual(third.unrepaired, [])
  assert.deepEqual(await rollupRows(s), rowsBefore)
})

test('the check is bounded: hours received before the window, or past raw retention, are left alone; a repair that cannot converge is reported', async () => {
  const s = await store('bounds')
  const now = Number((await rows<{ n: string }>(s, 'SELECT toString(toUnixTimestamp(now())) n'))[0]!.n) * 1000
  const hourOf = (ms: number) => ms - (ms % HOUR)
  // received 3 days ago (a torn insert long past): outside a 48 h window, inside a 96 h one
  const old = events('old', 0, 20, hourOf(now - 80 * HOUR))
  await s.client.command({ query: `DETACH TABLE ${s.database}.spend_by_hour_mv` })
  try {
    await s.client.insert({
      table: `${s.database}.requests`,
      values: old.map((e) => ({ ...e, received_at: now - 72 * HOUR })),
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: randomUUID() },
    })
  } finally {
    await s.client.command({ query: `ATTACH TABLE ${s.database}.spend_by_hour_mv` })
  }
  // received now, 10 days old: past a 5-day retention (raw rows may be gone), inside a 30-day one
  await tornInsert(s, events('aged', 0, 20, hourOf(now - 10 * 24 * HOUR)), ['spend_by_hour'])

  const narrow = await repairRollups(s, { windowHours: 48, retentionDays: 5 }, silentLog)
  assert.deepEqual([narrow.checkedHours, narrow.repaired.length], [0, 0])

  // nothing rebuilt when no attempt is allowed: both hours reported, loudly
  const { log, lines } = capturingLog()
  const stuck = await repairRollups(s, { windowHours: 96, retentionDays: 30, maxAttempts: 0 }, log)
  assert.equal(stuck.checkedHours, 2)
  assert.deepEqual(
    stuck.unrepaired.map((d) => d.table),
    ['spend_by_hour', 'spend_by_hour'],
  )
  assert.ok(
    lines.some((l) => l.level === 50 && l.msg === 'rollup repair failed: still differs from raw rows'),
  )

  const wide = await repairRollups(s, { windowHours: 96, retentionDays: 30 }, silentLog)
  assert.equal(wide.checkedHours, 2)
  assert.equal(wide.repaired.length, 2)
  const healed = await perHour(s)
  assert.deepEqual(healed.spend_by_hour, healed.requests)
})

test('start repairs a torn store before serving: /api/cost over whole hours answers the raw sums', async () => {
  const s = await store('repairstart')
  const es = clickHouseEventStore(s)
  const all = [...events('ok', 0, 300, BASE), ...events('torn', 300, 100, BASE + 2 * HOUR)]
  await es.insertRequests(all.slice(0, 300), randomUUID())
  await tornInsert(s, all.slice(300), ['spend_by_hour', 'spend_by_minute'])

  const expected = new Map<string, number>()
  for (const e of all) expected.set(e.customer, round10((expected.get(e.customer) ?? 0) + e.cost_usd))
  const want = [...expected].sort(([a], [b]) => (a < b ? -1 : 1))
  const range = { from: BASE, to: BASE + 6 * HOUR }
  const q = CostQuery.parse({
    group_by: 'customer',
    from: new Date(range.from).toISOString(),
    to: new Date(range.to).toISOString(),
  })
  const short = await queryCost(s.client, s.database, q, {
    fromMs: range.from,
    toMs: range.to,
    source: 'spend_by_hour',
  })
  assert.notDeepEqual(
    short.map((r) => [r.customer, r.cost_usd]).sort(([a], [b]) => (a! < b! ? -1 : 1)),
    want,
    'before start the hourly rollup under-counts',
  )

  const { log, lines } = capturingLog()
  const gw = await start(
    Config.parse({ server: { port: 0 }, store: { data_dir: testDataDir(), database: s.database } }),
    log,
  )
  running.push(gw)
  const repaired = lines.find((l) => l.msg === 'rollup repaired from raw rows' && l.table === 'spend_by_hour')
  assert.deepEqual(repaired?.hours, [at(2), at(3)])
  const order = lines.map((l) => l.msg)
  assert.ok(
    order.indexOf('rollups checked') < order.indexOf('gatewarden listening'),
    'repaired before listening',
  )

  const res = await gw.app.inject({
    method: 'GET',
    url: `/api/cost?group_by=customer&from=${q.from}&to=${q.to}`,
  })
  assert.equal(res.statusCode, 200)
  const body = res.json<{
    source: string
    rows: Array<{ customer: string; cost_usd: number; requests: number }>
  }>()
  assert.equal(body.source, 'spend_by_hour')
  assert.deepEqual(
    body.rows.map((r) => [r.customer, r.cost_usd]).sort(([a], [b]) => (a! < b! ? -1 : 1)),
    want,
  )
  assert.equal(
    body.rows.reduce((n, r) => n + r.requests, 0),
    all.length,
  )
  const metrics = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(metrics, /^gatewarden_rollup_repaired_hour_slots{[^}]*} 4$/m, 'two hours in each rollup')
  assert.match(metrics, /^gatewarden_rollup_unrepaired_hour_slots{[^}]*} 0$/m)
  // on demand, after start: nothing left to do
  const report = await gw.repairRollups()
  assert.deepEqual([report.repaired, report.unrepaired], [[], []])
})
