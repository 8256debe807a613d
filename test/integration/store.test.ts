import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { migrate } from '../../adapters/clickhouse/migrate.js'
import { MIGRATIONS } from '../../schemas/migrations/index.js'
import { clickHouseEventStore } from '../../adapters/clickhouse/store.js'
import { existingEventIds, readEvents } from '../../adapters/clickhouse/requests-table.js'
import { isAgentEvent, type ReadEventsOptions } from '../../core/ports/event-reader.js'
import { queryCost } from '../../adapters/clickhouse/cost-query.js'
import { WriterConfig } from '../../schemas/config.js'
import { CostQuery } from '../../schemas/api.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { deadLetter } from '../../schemas/dead-letter.js'
import { BatchWriter } from '../../services/ingest/batch-writer.js'
import { freshStore, rows, silentLog } from '../support/store.js'
import { litellmEvent, round10 } from '../support/events.js'
import { assertCostSourcesAgree } from '../support/cost-sources.js'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { READ_MAX_EXECUTION_S } from '../../adapters/clickhouse/store-lanes.js'
import type { ClickHouseSettings } from '@clickhouse/client'

const opened: StoreClient[] = []
after(async () => {
  for (const s of opened) await s.client.close()
})
async function store(name: string) {
  const s = await freshStore(name)
  opened.push(s)
  return s
}

const event = litellmEvent

const writerCfg = WriterConfig.parse({ max_batch_wait_ms: 5 })

test('migrations are idempotent: run again on the same database, nothing changes', async () => {
  const s = await store('migr')
  const before = await rows<{ name: string }>(
    s,
    "SELECT name FROM system.tables WHERE database = '{{db}}' ORDER BY name",
  )
  await migrate(s, silentLog)
  await migrate(s, silentLog)
  const after2 = await rows<{ name: string }>(
    s,
    "SELECT name FROM system.tables WHERE database = '{{db}}' ORDER BY name",
  )
  assert.deepEqual(after2, before)
  assert.deepEqual(
    before.map((r) => r.name),
    [
      'alert_deliveries',
      'alert_notifications',
      'alert_silences',
      'alerts',
      'budget_events',
      'budgets',
      'customer_tier_events',
      'customer_tiers',
      'dead_letters',
      'detector_heartbeats',
      'requests',
      'rule_events',
      'rules',
      'schema_migrations',
      'spend_by_customer_day',
      'spend_by_customer_day_mv',
      'spend_by_hour',
      'spend_by_hour_mv',
      'spend_by_minute',
      'spend_by_minute_mv',
    ],
  )
  const versions = await rows<{ v: number }>(
    s,
    'SELECT count(DISTINCT version) AS v FROM {{db}}.schema_migrations',
  )
  assert.equal(Number(versions[0]!.v), MIGRATIONS.length)
  const indexes = await rows<{ name: string }>(
    s,
    "SELECT name FROM system.data_skipping_indices WHERE database = '{{db}}' AND table = 'requests' ORDER BY name",
  )
  assert.deepEqual(
    indexes.map((i) => i.name),
    ['idx_api_key', 'idx_event_id', 'idx_fingerprint', 'idx_received_at'],
  )
})

test('rollups agree with raw sums for every group-by, and every cost source gives the same answer', async () => {
  const s = await store('mv')
  const writer = new BatchWriter(clickHouseEventStore(s), writerCfg, silentLog)
  const base = Date.parse('2026-11-20T10:00:00Z')
  const events: RequestEvent[] = []
  for (let i = 0; i < 600; i++) {
    events.push(
      event({
        id: `mv-${i}`,
        customer: ['acme', 'globex', '', 'initech'][i % 4]!,
        cost: ((i % 7) + 1) * 0.0001234567,
        ts: base + i * 37_000,
        model: ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet'][i % 3]!,
        key: `key-${i % 5}`,
        tokens: [100 + i, 10 + (i % 50)],
      }),
    )
  }
  await writer.submit(events.slice(0, 250))
  await writer.submit(events.slice(250))
  await writer.shutdown()

  const raw = await rows<{ customer: string; c: number; n: string }>(
    s,
    'SELECT customer, toFloat64(sum(cost_usd)) c, count() n FROM {{db}}.requests GROUP BY customer ORDER BY customer',
  )
  const expected = new Map<string, number>()
  for (const e of events) expected.set(e.customer, round10((expected.get(e.customer) ?? 0) + e.cost_usd))
  for (const r of raw) assert.equal(round10(r.c), expected.get(r.customer), `raw sum for '${r.customer}'`)

  for (const table of ['spend_by_minute', 'spend_by_hour']) {
    const mv = await rows<{ customer: string; c: number; n: string; it: string }>(
      s,
      `SELECT customer, toFloat64(sum(cost_usd)) c, sum(requests) n, sum(input_tokens) it FROM {{db}}.${table} GROUP BY customer ORDER BY customer`,
    )
    assert.deepEqual(
      mv.map((r) => [r.customer, round10(r.c), Number(r.n)]),
      raw.map((r) => [r.customer, round10(r.c), Number(r.n)]),
      table,
    )
  }

  // same range through hour rollup, minute rollup and raw rows: identical rows for each group-by
  await assertCostSourcesAgree(
    s,
    Date.parse('2026-11-20T10:00:00Z'),
    Date.parse('2026-11-20T18:00:00Z'),
    Date.parse('2026-11-26T12:00:00Z'),
  )
  const total = await queryCost(
    s.client,
    s.database,
    CostQuery.parse({ group_by: 'customer', from: '2026-11-01', to: '2026-12-01' }),
    {
      fromMs: Date.parse('2026-11-01'),
      toMs: Date.parse('2026-12-01'),
      source: 'spend_by_hour',
    },
  )
  assert.equal(
    round10(total.reduce((a, r) => a + r.cost_usd, 0)),
    round10(events.reduce((a, e) => a + e.cost_usd, 0)),
  )
  assert.ok(
    total.some((r) => r.customer === ''),
    'unattributed events report as customer ""',
  )
  for (let i = 1; i < total.length; i++)
    assert.ok(total[i - 1]!.cost_usd >= total[i]!.cost_usd, 'sorted by cost descending')
})

test('duplicates do not double cost: same batch, later batch, and after a restart', async () => {
  const s = await store('dup')
  const es = clickHouseEventStore(s)
  const ts = Date.parse('2026-11-21T08:00:00Z')
  const a = event({ id: 'dup-a', customer: 'acme', cost: 1.25, ts })
  const b = event({ id: 'dup-b', customer: 'acme', cost: 2.5, ts: ts + 1000 })

  const w1 = new BatchWriter(es, writerCfg, silentLog)
  const r1 = await w1.submit([a, a, b])
  assert.deepEqual(r1, { stored: 2, duplicates: 1, deadLettered: 0 })
  const r2 = await w1.submit([b, a])
  assert.deepEqual(r2, { stored: 0, duplicates: 2, deadLettered: 0 })
  await w1.shutdown()

  // a new writer (as after a restart) still recognises them from the store
  const w2 = new BatchWriter(es, writerCfg, silentLog)
  const c = event({ id: 'dup-c', customer: 'acme', cost: 4, ts: ts + 2000 })
  const r3 = await w2.submit([a, c])
  assert.deepEqual(r3, { stored: 1, duplicates: 1, deadLettered: 0 })
  await w2.shutdown()

  const [raw] = await rows<{ c: number; n: string }>(
    s,
    'SELECT toFloat64(sum(cost_usd)) c, count() n FROM {{db}}.requests',
  )
  assert.equal(raw!.c, 7.75)
  assert.equal(Number(raw!.n), 3)
  const [mv] = await rows<{ c: number; n: string }>(
    s,
    'SELECT toFloat64(sum(cost_usd)) c, sum(requests) n FROM {{db}}.spend_by_hour',
  )
  assert.equal(mv!.c, 7.75)
  assert.equal(Number(mv!.n), 3)
})

test('the duplicate lookup finds exactly the stored ids in its time window, hostile ids and big batches included, by file and by parameter alike', async () => {
  const s = await store('lookup')
  const es = clickHouseEventStore(s)
  const ts = Date.parse('2026-11-21T10:00:00Z')
  const hostile = [
    'line\nbreak',
    "quote'single",
    'quote"double',
    'back\\slash',
    'tab\tand\r\n',
    'ünïcødé-😀',
    'x'.repeat(5_000),
    ' leading and trailing ',
  ]
  const stored = [...hostile, ...Array.from({ length: 2_600 }, (_, i) => `bulk-${i}`)]
  const base = event({ id: 'lookup-base', customer: 'acme', cost: 0.5, ts })
  await es.insertRequests(
    stored.map((id, i) => ({ ...base, event_id: id, ts: ts + i })),
    randomUUID(),
  )
  // an id stored far outside the window is not a duplicate of this batch (same id, another call)
  await es.insertRequests([{ ...base, event_id: 'old-one', ts: ts - 86_400_000 }], randomUUID())
  const asked = [...stored, 'missing-1', 'line', 'break', 'x'.repeat(4_999), 'old-one']
  const window: [number, number] = [ts - 60_000, ts + 3_600_000]
  assert.ok(s.scratchDir, 'the embedded store stages the ids in a file')
  const byFile = await existingEventIds(s, asked, ...window)
  // the same engine without a scratch directory takes the server's path: ids as a parameter, in chunks
  const byParam = await existingEventIds({ ...s, scratchDir: undefined }, asked, ...window)
  assert.deepEqual([...byFile].sort(), [...stored].sort())
  assert.deepEqual([...byParam].sort(), [...stored].sort())
  assert.deepEqual(await existingEventIds(s, [], ...window), new Set())
  assert.deepEqual([...(await existingEventIds(s, ['old-one'], ts - 86_400_001, ts))], ['old-one'])
})

test('an insert retried with the same batch token is applied once, rollups included', async () => {
  const s = await store('token')
  const es = clickHouseEventStore(s)
  const e = event({ id: 'tok-1', customer: 'acme', cost: 3, ts: Date.parse('2026-11-21T09:00:00Z') })
  await es.insertRequests([e], 'batch-1')
  await es.insertRequests([e], 'batch-1') // e.g. a retry after a lost response
  const [r] = await rows<{ n: string; c: number }>(
    s,
    'SELECT count() n, toFloat64(sum(cost_usd)) c FROM {{db}}.requests',
  )
  assert.equal(Number(r!.n), 1)
  const [m] = await rows<{ c: number }>(s, 'SELECT toFloat64(sum(cost_usd)) c FROM {{db}}.spend_by_hour')
  assert.equal(m!.c, 3)
})

test('chdb session settings do not leak: a tokened insert never swallows the next insert', async () => {
  // Known trap (chdb 3.4): clickhouse_settings persist for the session. The writer passes a fresh token
  // with every insert; this checks that back-to-back batches of different rows all land.
  const s = await store('trap')
  const es = clickHouseEventStore(s)
  const ts = Date.parse('2026-11-21T10:00:00Z')
  for (let i = 0; i < 5; i++)
    await es.insertRequests([event({ id: `trap-${i}`, customer: 'x', cost: 1, ts: ts + i })], randomUUID())
  // and a byte-identical block twice under two different tokens is two inserts (distinct rows would be the same ids,
  // so use dead letters, which have no id dedupe)
  const dl = deadLetter('{"bad":1}', {
    source: 'test',
    origin: 'o',
    code: 'GW_DL_INVALID',
    reason: 'r',
    received_at: ts,
  })
  await es.insertDeadLetters([dl], randomUUID())
  await es.insertDeadLetters([dl], randomUUID())
  const [r] = await rows<{ n: string }>(s, 'SELECT count() n FROM {{db}}.requests')
  assert.equal(Number(r!.n), 5)
  const [d] = await rows<{ n: string }>(s, 'SELECT count() n FROM {{db}}.dead_letters')
  assert.equal(Number(d!.n), 2)
})

test('the lanes send only the settings the session does not hold, and each statement still runs under its own', async (t) => {
  const s = await store('lanes')
  if (s.kind !== 'embedded') return t.skip('the lanes are the embedded engine only')
  const setting = async (lane: 'store' | 'read', name: string, settings: ClickHouseSettings = {}) => {
    const client = lane === 'read' ? s.reads! : s.client
    const rs = await client.query({
      query: `SELECT toString(getSetting({name:String})) AS v`,
      query_params: { name },
      format: 'JSONEachRow',
      clickhouse_settings: settings,
    })
    return (await rs.json<{ v: string }>())[0]!.v
  }
  assert.equal(await setting('read', 'max_execution_time'), String(READ_MAX_EXECUTION_S))
  assert.equal(await setting('store', 'max_execution_time'), '0')
  assert.equal(await setting('store', 'max_execution_time'), '0')
  assert.equal(await setting('read', 'max_execution_time'), String(READ_MAX_EXECUTION_S))
  assert.equal(await setting('store', 'max_threads', { max_threads: 2 }), '2')
  // the statement fails after its first SET ran: the session's max_threads is no longer known
  await assert.rejects(setting('store', 'max_threads', { max_threads: 1, no_such_setting_here: 1 }))
  assert.equal(await setting('store', 'max_threads', { max_threads: 2 }), '2')
  // an insert of no rows never reaches the engine: its settings are not the session's
  await s.client.insert({
    table: `${s.database}.dead_letters`,
    values: [],
    format: 'JSONEachRow',
    clickhouse_settings: { max_threads: 3 },
  })
  assert.equal(await setting('store', 'max_threads', { max_threads: 3 }), '3')
})

test('writer batches by size and time, and refuses input past max_pending_rows', async () => {
  const s = await store('bp')
  const es = clickHouseEventStore(s)
  const ts = Date.parse('2026-11-22T10:00:00Z')
  const batches: number[] = []
  const w = new BatchWriter(
    es,
    WriterConfig.parse({ max_batch_rows: 100, max_batch_wait_ms: 50, max_pending_rows: 250 }),
    silentLog,
    {
      batchWritten: (b) => batches.push(b.rows),
    },
  )
  const mk = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) =>
      event({ id: `bp-${from + i}`, customer: 'c', cost: 0.5, ts: ts + from + i }),
    )
  const p1 = w.submit(mk(0, 60))
  const p2 = w.submit(mk(60, 60)) // crosses 100: flush now
  const p3 = w.submit(mk(120, 100))
  await assert.rejects(
    w.submit(mk(220, 100)),
    (e: { code?: string; retryable?: boolean }) => e.code === 'GW_BACKPRESSURE' && e.retryable === true,
  )
  const receipts = await Promise.all([p1, p2, p3])
  assert.deepEqual(
    receipts.map((r) => r.stored),
    [60, 60, 100],
  )
  assert.ok(
    batches.every((n) => n <= 120),
    `batches ${batches.join(',')}`,
  )
  await w.shutdown()
  await assert.rejects(w.submit(mk(400, 1)), (e: { code?: string }) => e.code === 'GW_SHUTTING_DOWN')
  const [r] = await rows<{ n: string }>(s, 'SELECT count() n FROM {{db}}.requests')
  assert.equal(Number(r!.n), 220)
})

test('readEvents gives back exactly the stored events, in event-time order, across pages and within a range', async () => {
  const s = await store('read')
  const w = new BatchWriter(clickHouseEventStore(s), writerCfg, silentLog)
  const ts = Date.parse('2026-11-23T10:00:00Z')
  const events = Array.from({ length: 25 }, (_, i) =>
    event({
      id: `rd-${String(i).padStart(2, '0')}`,
      customer: `c${i % 3}`,
      cost: 0.001 * i,
      ts: ts + (i % 5) * 1000,
    }),
  )
  await w.submit(events)
  await w.shutdown()
  const read: RequestEvent[] = []
  for await (const page of readEvents(s.client, s.database, ts, ts + 3_000, 4)) read.push(...page)
  const want = events
    .filter((e) => e.ts < ts + 3_000)
    .sort((a, b) => a.ts - b.ts || a.event_id.localeCompare(b.event_id))
  assert.equal(read.length, want.length)
  assert.deepEqual(read, want)
})

test('readEvents for a restore: the newest N only, in order, without texts, across sparse windows and ties', async () => {
  const s = await store('readnewest')
  const w = new BatchWriter(clickHouseEventStore(s), writerCfg, silentLog)
  const ts = Date.parse('2026-11-23T10:00:00Z')
  // clusters hours apart (the read's windows grow over the gaps), five events per instant (ties on ts)
  const events = Array.from({ length: 60 }, (_, i) => ({
    ...event({
      id: `rn-${String(59 - i).padStart(2, '0')}`,
      customer: `c${i % 3}`,
      cost: (i % 7) / 1000, // exact as a double both ways (0.001 * i is not: 0.052000000000000005)
      ts: ts + Math.floor(i / 20) * 3 * 3_600_000 + Math.floor((i % 20) / 5) * 1000,
    }),
    request_text: `prompt ${i}`,
    response_text: `answer ${i}`,
  }))
  await w.submit(events)
  await w.shutdown()
  const sorted = [...events].sort((a, b) => a.ts - b.ts || a.event_id.localeCompare(b.event_id))
  const read = async (newest: number | undefined, pageSize: number) => {
    const out: RequestEvent[] = []
    const opts = { columns: 'detection' as const, ...(newest === undefined ? {} : { newest }) }
    for await (const page of readEvents(s.client, s.database, ts, ts + 24 * 3_600_000, pageSize, opts))
      out.push(...page)
    return out
  }
  const noTexts = (es: RequestEvent[]) => es.map((e) => ({ ...e, request_text: '', response_text: '' }))
  assert.ok(
    events.every((e) => e.request_text !== ''),
    'the stored events have texts',
  )
  for (const pageSize of [3, 7, 100]) {
    assert.deepEqual(await read(undefined, pageSize), noTexts(sorted), `all, pages of ${pageSize}`)
    // 23 newest: starts inside a tie of five events on one instant
    assert.deepEqual(await read(23, pageSize), noTexts(sorted.slice(-23)), `newest 23, pages of ${pageSize}`)
  }
  assert.deepEqual(await read(1000, 7), noTexts(sorted), 'more asked than stored: all')
  assert.deepEqual(await read(0, 7), [], 'none asked: none')
})

test("readEvents with onlyAgents: the agent events and the agent keys' events only, also with newest", async () => {
  const s = await store('readagents')
  const w = new BatchWriter(clickHouseEventStore(s), writerCfg, silentLog)
  const ts = Date.parse('2026-11-23T10:00:00Z')
  // every mix of agent / key hash / key alias, a listed key or not (also listed values in the wrong field)
  const shapes = [
    { agent: '', api_key_hash: '', api_key_alias: '' },
    { agent: 'bot', api_key_hash: '', api_key_alias: '' },
    { agent: '', api_key_hash: 'h-agent', api_key_alias: '' },
    { agent: '', api_key_hash: '', api_key_alias: 'a-agent' },
    { agent: '', api_key_hash: 'h-other', api_key_alias: 'a-other' },
    { agent: '', api_key_hash: 'a-agent-not-hash', api_key_alias: 'h-agent-not-alias' },
    { agent: 'bot-2', api_key_hash: 'h-agent', api_key_alias: 'a-other' },
  ]
  const events = Array.from({ length: 42 }, (_, i) => ({
    ...event({ id: `ag-${String(i).padStart(2, '0')}`, customer: `c${i % 3}`, ts: ts + i * 60_000 }),
    ...shapes[i % shapes.length]!,
  }))
  await w.submit(events)
  await w.shutdown()
  const agentKeys = ['h-agent', 'a-agent']
  const want = events
    .filter((e) => isAgentEvent(e, agentKeys))
    .sort((a, b) => a.ts - b.ts || a.event_id.localeCompare(b.event_id))
  assert.equal(want.length, 24, 'four agent events of each seven')
  const read = async (opts: ReadEventsOptions) => {
    const out: RequestEvent[] = []
    for await (const page of readEvents(s.client, s.database, ts, ts + 3_600_000, 5, opts)) out.push(...page)
    return out
  }
  assert.deepEqual(await read({ onlyAgents: { agentKeys } }), want)
  assert.deepEqual(await read({ onlyAgents: { agentKeys }, newest: 10 }), want.slice(-10))
  assert.deepEqual(
    await read({ onlyAgents: { agentKeys: [] } }),
    events.filter((e) => e.agent !== ''),
    'no agent keys: the events with an agent',
  )
})
