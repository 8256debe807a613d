import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { clickHouseEventStore, type DedupeLookup } from '../../adapters/clickhouse/store.js'
import { createStoreClient, type StoreClient } from '../../adapters/clickhouse/client.js'
import type { Failpoints } from '../../core/failpoints.js'
import { armed } from '../support/failpoints.js'
import { StoreConfig, WriterConfig } from '../../schemas/config.js'
import { withEventDefaults, type RequestEvent } from '../../schemas/request-event.js'
import { BatchWriter } from '../../services/ingest/batch-writer.js'
import { freshStore, rows, silentLog, testDataDir } from '../support/store.js'

/**
 * The filter of stored ids (core/ingest/stored-ids.ts) in front of the duplicate lookup, on the real
 * embedded engine: which lookups reach the store, and that every way an id can already be stored (this
 * process, an insert that failed after it committed, an earlier process, another event store on the same
 * connection) is still counted once.
 */
const opened: StoreClient[] = []
after(async () => {
  for (const s of opened) await s.client.close()
})
const NOW = Date.now()
const event = (id: string, ts = NOW): RequestEvent => ({
  ...withEventDefaults({ event_id: id, ts, source: 'litellm_http', cost_usd: 0.25, customer: 'acme' }),
})
const cfg = WriterConfig.parse({ max_batch_wait_ms: 5 })
function writerOn(store: StoreClient, failpoints?: Failpoints) {
  const lookups: Array<{ how: DedupeLookup; ids: number }> = []
  const es = clickHouseEventStore(store, { dedupeLookup: (how, ids) => lookups.push({ how, ids }) })
  const writer = new BatchWriter(es, cfg, silentLog, {}, undefined, undefined, failpoints)
  return { writer, lookups }
}
const counts = async (s: StoreClient) => {
  const [c] = await rows<{ n: string; cost: number }>(
    s,
    'SELECT toString(count()) AS n, toFloat64(sum(cost_usd)) AS cost FROM {{db}}.requests',
  )
  const [h] = await rows<{ n: string }>(s, 'SELECT toString(sum(requests)) AS n FROM {{db}}.spend_by_hour')
  return { rows: Number(c!.n), cost: c!.cost, rollup: Number(h!.n) }
}
const batch = (prefix: string, n: number, ts = NOW) =>
  Array.from({ length: n }, (_, i) => event(`${prefix}-${i}`, ts))

test('fresh ids in a covered window skip the lookup; a resubmission asks the store about its ids only and counts once', async () => {
  const s = await freshStore('dfilter')
  opened.push(s)
  const { writer, lookups } = writerOn(s)
  assert.deepEqual(await writer.submit(batch('a', 300)), { stored: 300, duplicates: 0, deadLettered: 0 })
  assert.deepEqual(await writer.submit(batch('b', 300)), { stored: 300, duplicates: 0, deadLettered: 0 })
  assert.deepEqual(
    lookups.map((l) => l.how),
    ['skipped', 'skipped'],
    'an empty store: every window after its max ts (0) is covered',
  )
  // the same 300 again, with 5 new ones: the store is asked about the 300 (and any false positive)
  const again = [...batch('a', 300), ...batch('c', 5)]
  assert.deepEqual(await writer.submit(again), { stored: 5, duplicates: 300, deadLettered: 0 })
  const last = lookups[lookups.length - 1]!
  assert.equal(last.how, 'narrowed')
  assert.ok(last.ids >= 300 && last.ids < 305, `${last.ids} ids asked`)
  await writer.shutdown(1_000)
  assert.deepEqual(await counts(s), { rows: 605, cost: 605 * 0.25, rollup: 605 })
})

test('an insert that committed and then failed is still found when the sender retries', async () => {
  const s = await freshStore('dfilter')
  opened.push(s)
  const first = writerOn(s, armed('writer.after_insert=error(1)'))
  await assert.rejects(first.writer.submit(batch('x', 50)))
  await first.writer.shutdown(1_000)
  assert.equal((await counts(s)).rows, 50, 'the insert did commit')
  // the retry goes through another writer on the same connection: the filter is the connection's
  const second = writerOn(s)
  assert.deepEqual(await second.writer.submit(batch('x', 50)), { stored: 0, duplicates: 50, deadLettered: 0 })
  assert.equal(second.lookups[0]!.how, 'narrowed')
  await second.writer.shutdown(1_000)
  assert.deepEqual(await counts(s), { rows: 50, cost: 50 * 0.25, rollup: 50 })
})

test('after a restart the rows of the earlier process are found: windows up to its max ts ask the store', async () => {
  const s1 = await freshStore('dfilter')
  const { writer: w1 } = writerOn(s1)
  await w1.submit(batch('r', 40))
  await w1.shutdown(1_000)
  await s1.client.close()
  // the next process: a new connection on the same database
  const s2 = createStoreClient(StoreConfig.parse({ data_dir: testDataDir(), database: s1.database }))
  opened.push(s2)
  const { writer: w2, lookups } = writerOn(s2)
  assert.deepEqual(await w2.submit(batch('r', 40)), { stored: 0, duplicates: 40, deadLettered: 0 })
  assert.deepEqual(lookups[0], { how: 'store', ids: 40 })
  // events well after the earlier process's newest are covered again
  const later = NOW + 3_600_000
  assert.deepEqual(await w2.submit(batch('later', 10, later)), { stored: 10, duplicates: 0, deadLettered: 0 })
  assert.equal(lookups[1]!.how, 'skipped')
  assert.deepEqual(await w2.submit(batch('later', 10, later)), { stored: 0, duplicates: 10, deadLettered: 0 })
  assert.equal(lookups[2]!.how, 'narrowed')
  await w2.shutdown(1_000)
  assert.deepEqual(await counts(s2), { rows: 50, cost: 50 * 0.25, rollup: 50 })
})

test('dedupe_filter_mib 0 and a server connection ask the store for every id', async () => {
  const s = await freshStore('dfilter')
  opened.push(s)
  const lookups: string[] = []
  const off = clickHouseEventStore(s, { dedupeFilterMiB: 0, dedupeLookup: (how) => lookups.push(how) })
  const w = new BatchWriter(off, cfg, silentLog)
  await w.submit(batch('o', 10))
  await w.submit(batch('o', 10))
  await w.shutdown(1_000)
  assert.equal(lookups.length, 0, 'no filter, no filter outcomes')
  assert.equal((await counts(s)).rows, 10)
  const server = clickHouseEventStore({ ...s, kind: 'server' }, { dedupeLookup: (how) => lookups.push(how) })
  const w2 = new BatchWriter(server, cfg, silentLog)
  assert.deepEqual(await w2.submit(batch('o', 10)), { stored: 0, duplicates: 10, deadLettered: 0 })
  await w2.shutdown(1_000)
  assert.equal(lookups.length, 0)
})
