import { mock, test } from 'node:test'
import { Readable } from 'node:stream'
import assert from 'node:assert/strict'
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client'
import {
  embeddedLanes,
  MAX_WAITING_READS,
  READ_MAX_EXECUTION_S,
  sessionSettings,
  statementLabel,
  type StatementInfo,
} from './store-lanes.js'

/** An engine that runs what it is given only when the test says so, and records what ran and how. */
function heldEngine() {
  const started: Array<{ what: string; settings: unknown; finish: () => void }> = []
  let running = 0
  let maxRunning = 0
  const run = (params: { query?: string; table?: string; clickhouse_settings?: unknown }) =>
    new Promise<string>((resolve) => {
      running++
      maxRunning = Math.max(maxRunning, running)
      started.push({
        what: params.query ?? params.table ?? '',
        settings: params.clickhouse_settings,
        finish: () => {
          running--
          resolve(params.query ?? params.table ?? '')
        },
      })
    })
  const client = { query: run, insert: run, command: run, close: () => Promise.resolve() }
  return { client: client as unknown as ClickHouseClient, started, maxRunning: () => maxRunning }
}

/** Lets queued promise callbacks run. */
const settle = () => new Promise((r) => setImmediate(r))

test('store work waiting goes before waiting reads; one statement at a time; each states its time limit', async () => {
  const engine = heldEngine()
  const { store, read } = embeddedLanes(engine.client)
  const done: string[] = []
  const track = (p: Promise<unknown>, name: string) => p.then(() => done.push(name))
  const all = [
    track(read.query({ query: 'read-1' }), 'read-1'),
    track(read.query({ query: 'read-2' }), 'read-2'),
    track(read.query({ query: 'read-3' }), 'read-3'),
  ]
  await settle()
  assert.deepEqual(
    engine.started.map((s) => s.what),
    ['read-1'],
  )
  all.push(track(store.insert({ table: 'requests', values: [] }), 'insert'))
  all.push(track(store.query({ query: 'dedupe lookup' }), 'lookup'))
  await settle()
  assert.equal(engine.started.length, 1, 'nothing else starts while a statement runs')
  for (let i = 0; i < 5; i++) {
    engine.started[i]!.finish()
    await settle()
  }
  await Promise.all(all)
  assert.deepEqual(
    engine.started.map((s) => s.what),
    ['read-1', 'requests', 'dedupe lookup', 'read-2', 'read-3'],
  )
  assert.equal(engine.maxRunning(), 1)
  // each statement's limit is sent when the session may hold another: the read after a read runs under the
  // one already set; the insert here has no rows, so it never reached the engine, and the lookup sends it
  assert.deepEqual(
    engine.started.map((s) => (s.settings as { max_execution_time?: number }).max_execution_time),
    [READ_MAX_EXECUTION_S, 0, 0, READ_MAX_EXECUTION_S, undefined],
  )
  assert.deepEqual(done, ['read-1', 'insert', 'lookup', 'read-2', 'read-3'])
})

test('reads still progress under constant store work, and too many waiting reads are refused', async () => {
  const engine = heldEngine()
  const { store, read } = embeddedLanes(engine.client)
  const first = store.command({ query: 'store-0' })
  await settle()
  const r = read.query({ query: 'read' })
  const writes = Array.from({ length: 20 }, (_, i) => store.command({ query: `store-${i + 1}` }))
  for (let i = 0; i < 21; i++) {
    engine.started[i]!.finish()
    await settle()
  }
  const order = engine.started.map((s) => s.what)
  assert.ok(
    order.indexOf('read') > 0 && order.indexOf('read') <= 9,
    `read ran after at most 8 store statements: ${order.join(',')}`,
  )
  while (engine.started.length < 22) await settle()
  engine.started[21]!.finish()
  await Promise.all([first, r, ...writes])

  // the engine busy again: reads pile up to the bound, the next one is refused (retryable)
  const busy = store.command({ query: 'busy' })
  await settle()
  const waitingReads = Array.from({ length: MAX_WAITING_READS }, (_, i) => read.query({ query: `w${i}` }))
  await assert.rejects(read.query({ query: 'one too many' }), (e: { code?: string; retryable?: boolean }) => {
    return e.code === 'GW_STORE_UNAVAILABLE' && e.retryable === true
  })
  for (let i = 22; i < 22 + 1 + MAX_WAITING_READS; i++) {
    while (engine.started.length <= i) await settle()
    engine.started[i]!.finish()
  }
  await Promise.all([busy, ...waitingReads])
})

test('statement labels: verb and first table, database and backquotes dropped, never the SQL text', () => {
  const cases: Array<[Parameters<typeof statementLabel>[0], string]> = [
    [{ table: 'gatewarden.requests' }, 'insert requests'],
    [
      { query: 'SELECT DISTINCT event_id FROM gatewarden.requests WHERE event_id IN ({ids:Array(String)})' },
      'select requests',
    ],
    [{ query: "  insert into `gatewarden`.`spend_by_hour` SELECT * FROM file('x')" }, 'insert spend_by_hour'],
    [{ query: 'WITH t AS (SELECT 1 FROM a.b) SELECT * FROM gatewarden.alerts FINAL' }, 'select b'],
    [{ query: 'ALTER TABLE gatewarden.rules UPDATE state = 1 WHERE 1' }, 'alter rules'],
    [{ query: 'CREATE TABLE IF NOT EXISTS gatewarden.outbox (x UInt8) ENGINE = Memory' }, 'create outbox'],
    [{ query: 'SELECT 1' }, 'select'],
    [{ query: '' }, 'unknown'],
    [undefined, 'unknown'],
  ]
  for (const [params, label] of cases) assert.equal(statementLabel(params), label, JSON.stringify(params))
})

test('each statement is reported once it ends: lane, label, time waited behind the one running, outcome', async () => {
  const engine = heldEngine()
  const seen: StatementInfo[] = []
  let t = 0
  const now = mock.method(performance, 'now', () => t)
  try {
    const { store, read } = embeddedLanes(engine.client, (i) => seen.push(i))
    const a = store.insert({ table: 'gatewarden.requests', values: [] })
    const b = read.query({ query: 'SELECT sum(cost) FROM gatewarden.spend_by_hour' })
    await settle()
    t = 30
    engine.started[0]!.finish()
    await a
    await settle()
    t = 100
    engine.started[1]!.finish()
    await b
    await settle()
  } finally {
    now.mock.restore()
  }
  assert.deepEqual(seen, [
    { lane: 'store', statement: 'insert requests', waitMs: 0, runMs: 30, ok: true },
    { lane: 'read', statement: 'select spend_by_hour', waitMs: 30, runMs: 70, ok: true },
  ])
})

test('a failed statement is reported as failed and its error still reaches the caller; a throwing observer changes nothing', async () => {
  const failing = {
    query: () => Promise.reject(new Error('engine said no')),
    close: () => Promise.resolve(),
  } as unknown as ClickHouseClient
  const seen: StatementInfo[] = []
  const { store } = embeddedLanes(failing, (i) => {
    seen.push(i)
    throw new Error('observer broke')
  })
  await assert.rejects(store.query({ query: 'SELECT 1 FROM gatewarden.alerts' }), /engine said no/)
  await assert.rejects(store.query({ query: 'SELECT 2 FROM gatewarden.alerts' }), /engine said no/)
  assert.deepEqual(
    seen.map((s) => [s.statement, s.ok]),
    [
      ['select alerts', false],
      ['select alerts', false],
    ],
  )
})

test('the lanes send a setting only when the session holds another value; after a failure, every one again', async () => {
  const sent: unknown[] = []
  let fail = false
  const client = {
    command: (p: { clickhouse_settings?: unknown }) => {
      sent.push(p.clickhouse_settings)
      return fail ? Promise.reject(new Error('engine said no')) : Promise.resolve({})
    },
    close: () => Promise.resolve(),
  } as unknown as ClickHouseClient
  const { store, read } = embeddedLanes(client)
  const insert = (token: string) =>
    store.command({
      query: 'INSERT INTO gatewarden.requests SELECT 1',
      clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: token, async_insert: 0 },
    })
  await insert('a')
  await insert('b')
  await read.command({ query: 'SELECT 1' })
  await insert('b')
  fail = true
  await assert.rejects(insert('c'), /engine said no/)
  fail = false
  await insert('c')
  assert.deepEqual(sent, [
    { max_execution_time: 0, insert_deduplicate: 1, insert_deduplication_token: 'a', async_insert: 0 },
    { insert_deduplication_token: 'b' },
    { max_execution_time: READ_MAX_EXECUTION_S },
    { max_execution_time: 0 },
    { insert_deduplication_token: 'c' },
    { max_execution_time: 0, insert_deduplicate: 1, insert_deduplication_token: 'c', async_insert: 0 },
  ])
})

test('an insert of no rows (never sent to the engine) leaves the settings held as they were; a stream, unknown', async () => {
  const sent: unknown[] = []
  const client = {
    command: (p: { clickhouse_settings?: unknown }) => (
      sent.push(p.clickhouse_settings),
      Promise.resolve({})
    ),
    insert: (p: { clickhouse_settings?: unknown }) => (sent.push(p.clickhouse_settings), Promise.resolve({})),
    close: () => Promise.resolve(),
  } as unknown as ClickHouseClient
  const { store } = embeddedLanes(client)
  const settings = { insert_deduplicate: 1, async_insert: 0 } as const
  await store.command({ query: 'SELECT 1' })
  await store.insert({ table: 'gatewarden.alerts', values: [], clickhouse_settings: settings })
  await store.insert({ table: 'gatewarden.alerts', values: [{ a: 1 }], clickhouse_settings: settings })
  await store.insert({ table: 'gatewarden.alerts', values: [{ a: 1 }], clickhouse_settings: settings })
  await store.insert({ table: 'gatewarden.alerts', values: Readable.from([]), clickhouse_settings: settings })
  await store.insert({ table: 'gatewarden.alerts', values: [{ a: 1 }], clickhouse_settings: settings })
  assert.deepEqual(sent, [
    { max_execution_time: 0 },
    settings,
    settings,
    {},
    {},
    { max_execution_time: 0, ...settings },
  ])
})

test('session settings: values compare as their SET states them; the format option is passed every time', () => {
  const s = sessionSettings()
  // as callers write them: booleans, numbers and strings (the settings' own types are narrower)
  const as = (v: Record<string, unknown>) => v as ClickHouseSettings
  s.applied(as({ async_insert: 0, insert_deduplicate: true, max_partitions_per_insert_block: '1000' }))
  assert.deepEqual(
    s.changed(as({ async_insert: 0, insert_deduplicate: 1, max_partitions_per_insert_block: 1000 })),
    {},
  )
  assert.deepEqual(s.changed(as({ async_insert: 1, insert_deduplicate: false })), {
    async_insert: 1,
    insert_deduplicate: false,
  })
  s.applied({ default_format: 'JSON' })
  assert.deepEqual(s.changed({ default_format: 'JSON' }), { default_format: 'JSON' })
  s.unknown()
  assert.deepEqual(s.changed({ async_insert: 0 }), { async_insert: 0 })
})
