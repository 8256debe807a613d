import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mapLiteLLMPayload } from '../../core/ingest/litellm/mapper.js'
import { Config } from '../../schemas/config.js'
import { failpointsFromEnv, processFailpoints } from '../../services/failpoints.js'
import { start, type Running } from '../../services/start.js'
import { createTopic, groupOffsets, useTestBroker, waitFor } from '../support/kafka-broker.js'
import { assertExactSpend, ExpectedKafkaSpend, storeCounts } from '../support/kafka-spend.js'
import { kafkaTestConfig, testLog } from '../support/kafka-gatewarden.js'
import { fixture } from '../support/paths.js'
import { freshStore, rows } from '../support/store.js'

// Issue 9, "ingest through Kafka": with `ingest.via_kafka`, HTTP ingest writes each accepted event to
// the ingest topic (keyed by event_id, acks=all) and answers once the brokers have it; the consumer
// group stores it. The store refuses every insert for a while (`store.insert=error(N)`) as
// LiteLLM-shaped batches keep arriving over HTTP, some sent twice (a sender's retry): nothing is
// refused, nothing lost, nothing counted twice, and the rows waiting in memory stay bounded.

const kx = useTestBroker('via-kafka')
const run = `${process.pid}-${Date.now()}`
const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop()
})

/** Inserts refused before the store is back (the consumer's paused partitions retry with backoff). */
const OUTAGE = 40
const MAX_PENDING = 40
const BATCH = 10

test('config: ingest.via_kafka needs kafka, and its topic is not one of kafka.topics', () => {
  const none = Config.safeParse({ ingest: { via_kafka: true } })
  assert.equal(none.success, false)
  assert.deepEqual(none.error?.issues[0]?.path, ['ingest', 'via_kafka'])
  const clash = Config.safeParse({
    kafka: { brokers: ['k:9092'], topics: ['gatewarden.ingest'] },
    ingest: { via_kafka: true },
  })
  assert.deepEqual(clash.error?.issues[0]?.path, ['ingest', 'topic'])
})

test('store down while LiteLLM traffic arrives over HTTP via the ingest topic: nothing refused, lost or counted twice; memory bounded', async () => {
  const source = `via-src-${run}`
  const ingestTopic = `via-ingest-${run}`
  await createTopic(kx.kafka, source, 1)
  await createTopic(kx.kafka, ingestTopic, 3)
  const groupId = `gw-via-${run}`
  const db = await freshStore('via_kafka')
  const database = db.database
  await db.client.close()
  const base = kafkaTestConfig({
    database,
    brokers: kx.broker.brokers,
    topics: [source],
    groupId,
    // a new group that starts at the latest offsets for its source topics still reads the ingest topic
    // from its start: nothing acked before the group first joined is skipped
    kafka: { max_bytes_per_partition: 8 * 1024, from_beginning: false },
    writer: { max_pending_rows: MAX_PENDING, store_retry_deadline_ms: 300, max_batch_wait_ms: 20 },
  })
  const cfg = Config.parse({ ...base, ingest: { via_kafka: true, topic: ingestTopic } })
  // acked by an instance before this group ever joined (a first deploy that died): on the topic only
  const ledger = new ExpectedKafkaSpend(`via-${run}`)
  const earlier = Array.from({ length: BATCH }, (_, j) => {
    const m = mapLiteLLMPayload(ledger.payload(10_000 + j), {
      source: 'litellm_http',
      gateway: cfg.gateway,
      attribution: cfg.attribution,
      privacy: cfg.privacy,
    })
    assert.ok(m.ok)
    return m.event
  })
  await kx.producer.send({
    topic: ingestTopic,
    acks: -1,
    messages: earlier.map((e) => ({ key: e.event_id, value: JSON.stringify(e) })),
  })
  const log = testLog()
  const fp = processFailpoints(
    failpointsFromEnv({ GATEWARDEN_FAILPOINTS: `store.insert=error(${OUTAGE})` }),
    log,
  )
  const gw = await start(cfg, log, undefined, { failpoints: fp })
  running.push(gw)
  const down = () => fp.hits('store.insert') < OUTAGE
  let maxPending = 0
  const sample = () => (maxPending = Math.max(maxPending, gw.writer.pendingRows))

  const batches = Array.from({ length: 30 }, (_, b) =>
    Array.from({ length: BATCH }, (_, j) => ledger.payload(b * BATCH + j)),
  )
  // every batch once, and three of them again (a sender retrying after a lost answer)
  const sends = [...batches, batches[0]!, batches[7]!, batches[29]!]
  for (const items of sends) {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/ingest/litellm',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(items),
    })
    sample()
    assert.equal(res.statusCode, 200, `refused while the store is down: ${res.body}`)
    assert.deepEqual(res.json(), { accepted: BATCH, rejected: 0, duplicates: 0 })
  }
  // every answer came while the store refused everything: they rest on the brokers alone
  assert.ok(down(), `the outage lasted through the sends (hits ${fp.hits('store.insert')})`)
  assert.equal((await storeCounts(gw.store)).rows, 0, 'nothing stored yet')
  const produced = await groupOffsets(kx.kafka, groupId, ingestTopic)
  assert.equal(
    produced.high.reduce((a, b) => a + b, 0),
    BATCH + sends.length * BATCH,
    'each accepted event is on the ingest topic',
  )

  // the store comes back by itself (the failpoint's N errors are used up by the paused partitions)
  await waitFor(
    `${ledger.total} rows (failpoint hits ${fp.hits('store.insert')})`,
    async () => (sample(), (await storeCounts(gw.store)).rows >= ledger.total),
    120_000,
  )
  await waitFor('the ingest topic fully committed', async () => {
    const { committed, high } = await groupOffsets(kx.kafka, groupId, ingestTopic)
    return high.every((h, p) => committed[p] === h)
  })
  await assertExactSpend(gw.store, ledger)
  const [src] = await (
    await gw.store.client.query({
      query: `SELECT groupUniqArray(source) AS s FROM ${gw.store.database}.requests`,
      format: 'JSONEachRow',
    })
  ).json<{ s: string[] }>()
  assert.deepEqual(src?.s, ['litellm_http'], 'the events keep the source they entered by')
  assert.ok(maxPending <= MAX_PENDING, `pending rows stayed under max_pending_rows (max seen ${maxPending})`)

  // OTLP takes the same way: produced to the ingest topic, stored by the group with source otlp
  const before = (await groupOffsets(kx.kafka, groupId, ingestTopic)).high.reduce((a, b) => a + b, 0)
  const otlp = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(fixture('otlp/litellm-otel-success-user.json')),
  })
  assert.equal(otlp.statusCode, 200, otlp.body)
  const after = (await groupOffsets(kx.kafka, groupId, ingestTopic)).high.reduce((a, b) => a + b, 0)
  assert.equal(after - before, 1, 'one LLM call, one message on the ingest topic')
  await waitFor('the OTLP event stored', async () => {
    const [r] = await rows<{ n: string }>(
      gw.store,
      "SELECT toString(count()) AS n FROM {{db}}.requests WHERE source = 'otlp'",
    )
    return r?.n === '1'
  })
  assert.equal((await storeCounts(gw.store)).rows, ledger.total + 1)
})
