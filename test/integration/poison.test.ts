import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clickHouseEventStore } from '../../adapters/clickhouse/store.js'
import { classifyStoreError } from '../../adapters/clickhouse/store-errors.js'
import { insertRequests } from '../../adapters/clickhouse/requests-table.js'
import type { Failpoints } from '../../core/failpoints.js'
import { armed } from '../support/failpoints.js'
import type { RetryClock } from '../../core/retry.js'
import { WriterConfig } from '../../schemas/config.js'
import { deadLetter } from '../../schemas/dead-letter.js'
import { withEventDefaults, type RequestEvent } from '../../schemas/request-event.js'
import { BatchWriter } from '../../services/ingest/batch-writer.js'
import { freshStore, rows, silentLog } from '../support/store.js'

/** Recent: dead letters older than the table's 90-day TTL are dropped on insert. */
const TS = Date.now() - 3_600_000
const event = (id: string, o: Partial<RequestEvent> = {}): RequestEvent => ({
  ...withEventDefaults({ event_id: id, ts: TS, source: 'kafka', cost_usd: 0.5, customer: 'acme' }),
  ...o,
})
/**
 * A row the real embedded store refuses although it passes the RequestEvent schema, when rows go to it as
 * JSONEachRow (as to a ClickHouse server: `jsonStore`): a lone UTF-16 surrogate (JSON `"\ud800"` on the
 * wire) in a string column -> CANNOT_PARSE_ESCAPE_SEQUENCE. (RowBinary writes it as U+FFFD and keeps it.)
 */
const poison = (id: string) => event(id, { customer: 'bad\uD800' })

/** Backoff without waiting: the retry policy's time is this clock's. */
const instantClock = (): RetryClock => {
  let at = Date.now()
  return { now: () => at, sleep: async (ms) => void (at += ms), random: () => 0.5 }
}
/** A fresh store whose inserts go as JSONEachRow, the server path (`store.insert_format: json`). */
const jsonStore = async () => ({ ...(await freshStore('poison')), scratchDir: undefined })
const writerOn = async (opts: { failpoints?: Failpoints; cfg?: Record<string, unknown> } = {}) => {
  const store = await jsonStore()
  const es = clickHouseEventStore(store, { failpoints: opts.failpoints })
  const calls = { requests: 0 }
  const counting = {
    ...es,
    insertRequests: (r: readonly RequestEvent[], t: string) => (calls.requests++, es.insertRequests(r, t)),
  }
  const cfg = WriterConfig.parse({ max_batch_wait_ms: 5, max_batch_rows: 10_000, ...opts.cfg })
  const writer = new BatchWriter(counting, cfg, silentLog, {}, instantClock())
  return { store, writer, calls }
}
const ids = async (store: Awaited<ReturnType<typeof freshStore>>) =>
  (await rows<{ event_id: string }>(store, 'SELECT event_id FROM {{db}}.requests ORDER BY event_id')).map(
    (r) => r.event_id,
  )

test('the real store refuses a lone surrogate with a data error; the adapter classes it rejected, a network error retryable', async () => {
  const store = await jsonStore()
  const err = await insertRequests(store.client, store.database, [poison('p')], 'tok-p').then(
    () => assert.fail('the store took a lone surrogate'),
    (e: unknown) => e,
  )
  assert.equal((err as { type?: string }).type, 'CANNOT_PARSE_ESCAPE_SEQUENCE')
  assert.equal(classifyStoreError(err), 'rejected')
  const es = clickHouseEventStore(store)
  await assert.rejects(es.insertRequests([poison('p')], 'tok-q'), {
    code: 'GW_STORE_REJECTED',
    retryable: false,
  })
  for (const transient of [
    Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('Too many parts'), { code: '252', type: 'TOO_MANY_PARTS' }),
    Object.assign(new Error('Memory limit exceeded'), { code: '241', type: 'MEMORY_LIMIT_EXCEEDED' }),
    Object.assign(new Error('Timeout exceeded'), { code: '159', type: 'TIMEOUT_EXCEEDED' }),
    Object.assign(new Error('Table does not exist'), { code: '60', type: 'UNKNOWN_TABLE' }),
  ])
    assert.equal(classifyStoreError(transient), 'retryable', transient.message)
})

test('a batch with poison rows is bisected: the bad rows become GW_DL_STORE_REJECTED dead letters with the store reason, every neighbour is stored and acked', async () => {
  const { store, writer, calls } = await writerOn()
  // three submissions coalesce into one batch of 12 events; two poison rows in two of them
  const a = Array.from({ length: 5 }, (_, i) => event(`a${i}`))
  const b = [event('b0'), poison('b1'), event('b2')]
  const c = [event('c0'), event('c1'), poison('c2'), event('c3')]
  const [ra, rb, rc] = await Promise.all([writer.submit(a), writer.submit(b), writer.submit(c)])
  assert.deepEqual(ra, { stored: 5, duplicates: 0, deadLettered: 0 })
  assert.deepEqual(rb, { stored: 2, duplicates: 0, deadLettered: 1 })
  assert.deepEqual(rc, { stored: 3, duplicates: 0, deadLettered: 1 })
  assert.deepEqual(await ids(store), ['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b2', 'c0', 'c1', 'c3'])
  const dead = await rows<{ source: string; origin: string; code: string; reason: string; raw: string }>(
    store,
    'SELECT source, origin, code, reason, raw FROM {{db}}.dead_letters ORDER BY origin',
  )
  assert.deepEqual(
    dead.map((d) => [d.source, d.origin, d.code]),
    [
      ['kafka', 'store event b1', 'GW_DL_STORE_REJECTED'],
      ['kafka', 'store event c2', 'GW_DL_STORE_REJECTED'],
    ],
  )
  for (const d of dead) {
    assert.match(d.reason, /^CANNOT_PARSE_ESCAPE_SEQUENCE: .*surrogate/)
    assert.match(d.raw, /"customer":"bad\\ud800"/, 'the raw event is kept, escaped so it is storable')
  }
  // bisection, not one insert per row: 12 rows with 2 bad ones
  assert.ok(calls.requests < 12, `${calls.requests} inserts`)
  await writer.shutdown(1_000)
})

test('store.insert=error(3): retryable failures are retried, then the batch is stored; poison next to them still isolated', async () => {
  const { store, writer } = await writerOn({ failpoints: armed('store.insert=error(3)') })
  const r = await writer.submit([event('x0'), poison('x1'), event('x2')])
  assert.deepEqual(r, { stored: 2, duplicates: 0, deadLettered: 1 })
  assert.deepEqual(await ids(store), ['x0', 'x2'])
  const [n] = await rows<{ n: string }>(store, 'SELECT toString(count()) n FROM {{db}}.dead_letters')
  assert.equal(n?.n, '1')
  await writer.shutdown(1_000)
})

test('a batch made only of poison rows is all dead letters and resolves: nothing to redeliver forever', async () => {
  const { store, writer } = await writerOn()
  const r = await writer.submit([poison('p0'), poison('p1'), poison('p2')])
  assert.deepEqual(r, { stored: 0, duplicates: 0, deadLettered: 3 })
  assert.deepEqual(await ids(store), [])
  await writer.shutdown(1_000)
})

test('dead letters go in after the requests: a submission whose dead-letter insert failed is resubmitted without duplicating either', async () => {
  const store = await freshStore('poison')
  // hit 1 = the requests insert (succeeds), hits 2.. = the dead-letter insert (fails until the deadline)
  const es = clickHouseEventStore(store, { failpoints: armed('store.insert=error@2') })
  const cfg = WriterConfig.parse({ max_batch_wait_ms: 5, store_retry_deadline_ms: 2_000 })
  const w1 = new BatchWriter(es, cfg, silentLog, {}, instantClock())
  const dl = deadLetter('{"broken', {
    source: 'kafka',
    origin: 'kafka t/0@7',
    code: 'GW_DL_NOT_JSON',
    reason: 'not JSON',
    received_at: TS,
    topic: 't',
    partition: 0,
    offset: 7,
  })
  await assert.rejects(w1.submit([event('e0')], [dl]), { code: 'GW_STORE_UNAVAILABLE' })
  await w1.shutdown(1_000)
  // the sender (Kafka: the same offsets again) resubmits to a healthy store
  const w2 = new BatchWriter(clickHouseEventStore(store), cfg, silentLog, {}, instantClock())
  assert.deepEqual(await w2.submit([event('e0')], [{ ...dl, received_at: TS + 60_000 }]), {
    stored: 0,
    duplicates: 1,
    deadLettered: 1,
  })
  // and a redelivery of the same message after it was stored adds no second dead letter
  await w2.submit([], [{ ...dl, received_at: TS + 120_000 }])
  await w2.shutdown(1_000)
  const [c] = await rows<{ r: string; d: string }>(
    store,
    'SELECT toString((SELECT count() FROM {{db}}.requests)) r, toString((SELECT count() FROM {{db}}.dead_letters)) d',
  )
  assert.deepEqual(c, { r: '1', d: '1' })
})
