import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readdirSync } from 'node:fs'
import fc from 'fast-check'
import { insertRequestRows, insertRequests } from '../../adapters/clickhouse/requests-table.js'
import { clickHouseEventStore } from '../../adapters/clickhouse/store.js'
import { MAX_EVENT_TS_MS, MIN_EVENT_TS_MS, RequestEvent } from '../../schemas/request-event.js'
import { litellmEvent } from '../support/events.js'
import { freshStore, rows } from '../support/store.js'

/** Text as hostile as a label gets once mapped: any unicode (lone surrogates included), up to 1,024 units. */
const text = (max = 1024) =>
  fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: max }), fc.constant(''))
const count = fc.integer({ min: 0, max: 2 ** 32 - 1 })

/** Any valid RequestEvent (the mappers' output contract). */
const anyEvent = fc
  .record({
    event_id: fc.string({ unit: 'binary', minLength: 1, maxLength: 256 }),
    ts: fc.integer({ min: MIN_EVENT_TS_MS, max: MAX_EVENT_TS_MS - 1 }),
    duration_ms: count,
    ttft_ms: fc.option(count, { nil: null }),
    source: fc.constantFrom('litellm_http', 'kafka', 'otlp' as const),
    gateway: text(),
    customer: text(),
    team: text(),
    user: text(),
    api_key_hash: text(),
    endpoint: text(),
    agent: text(),
    tier: text(),
    model: text(),
    input_tokens: count,
    output_tokens: count,
    cached_tokens: count,
    cost_usd: fc.oneof(
      fc.double({ min: 0, max: 1_000_000, noNaN: true }),
      fc.integer({ min: 0, max: 10 ** 7 }).map((n) => n / 1e7),
    ),
    cache_hit: fc.boolean(),
    status: fc.constantFrom('success', 'failure' as const),
    http_status: fc.integer({ min: 0, max: 999 }),
    fingerprint: fc.string({ maxLength: 64 }),
    tags: fc.array(text(), { maxLength: 64 }),
    metadata: fc.dictionary(fc.string({ unit: 'binary', maxLength: 256 }), fc.string({ maxLength: 4096 }), {
      maxKeys: 64,
    }),
    request_text: fc.string({ unit: 'binary', maxLength: 5000 }),
  })
  .map((r) => ({
    ...litellmEvent({ id: 'x' }),
    ...r,
    end_ts: Math.min(r.ts + r.duration_ms, MAX_EVENT_TS_MS),
    duration_ms: Math.min(r.duration_ms, MAX_EVENT_TS_MS - r.ts),
  }))
  .filter((e) => RequestEvent.safeParse(e).success)

const read = (store: Awaited<ReturnType<typeof freshStore>>, table: string) =>
  rows(
    store,
    `SELECT * EXCEPT (received_at), toString(cost_usd) AS cost FROM ${store.database}.${table} ORDER BY event_id`,
  )

test('RowBinary staged through file() stores exactly what the JSONEachRow insert stores, for any valid event', async () => {
  const store = await freshStore('rowbinary')
  assert.ok(store.scratchDir, 'the embedded engine stages inserts in the data directory')
  await store.client.command({
    query: `CREATE TABLE ${store.database}.requests_json AS ${store.database}.requests`,
  })
  const events = fc.sample(anyEvent, { numRuns: 400, seed: 42 })
  // unique ids: the comparison is row by row
  const unique = [...new Map(events.map((e) => [e.event_id, e])).values()]
  await insertRequestRows(store, unique, randomUUID())
  await store.client.insert({
    table: `${store.database}.requests_json`,
    values: unique,
    format: 'JSONEachRow',
    clickhouse_settings: { insert_deduplicate: 0, input_format_skip_unknown_fields: 0 },
  })
  const [binary, json] = [await read(store, 'requests'), await read(store, 'requests_json')]
  assert.equal(binary.length, unique.length)
  assert.deepEqual(binary, json)
  assert.deepEqual(readdirSync(store.scratchDir), [], 'staged files are removed after the insert')
})

test('a RowBinary insert keeps the batch token: the same batch retried under its token is stored once', async () => {
  const store = await freshStore('rowbinary_token')
  const port = clickHouseEventStore(store)
  const batch = Array.from({ length: 50 }, (_, i) => litellmEvent({ id: `t-${i}`, cost: 0.01 }))
  const token = randomUUID()
  await port.insertRequests(batch, token)
  await port.insertRequests(batch, token)
  // a different batch right after a tokened one is not dropped (the chdb session-settings trap)
  await port.insertRequests([litellmEvent({ id: 'next', cost: 0.01 })], randomUUID())
  const [row] = await rows<{ n: number; cost: number }>(
    store,
    `SELECT count() AS n, toFloat64(sum(cost_usd)) AS cost FROM ${store.database}.requests`,
  )
  assert.equal(row!.n, 51)
  const [hour] = await rows<{ n: number }>(
    store,
    `SELECT sum(requests) AS n FROM ${store.database}.spend_by_hour`,
  )
  assert.equal(hour!.n, 51, 'the rollup view counts the retried batch once too')
})

test('the JSON insert path stays available (tests and the server path use it)', async () => {
  const store = await freshStore('rowbinary_json')
  await insertRequests(store.client, store.database, [litellmEvent({ id: 'j-1' })], randomUUID())
  const [row] = await rows<{ n: number }>(store, `SELECT count() AS n FROM ${store.database}.requests`)
  assert.equal(row!.n, 1)
})
