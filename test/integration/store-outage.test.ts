import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { failpointsFromEnv, processFailpoints } from '../../services/failpoints.js'
import { start, type Running } from '../../services/start.js'
import { createTopic, groupOffsets, produceAll, useTestBroker, waitFor } from '../support/kafka-broker.js'
import { assertExactSpend, ExpectedKafkaSpend, spendMessages, storeCounts } from '../support/kafka-spend.js'
import { kafkaTestConfig, testLog } from '../support/kafka-gatewarden.js'
import { freshStore } from '../support/store.js'

// Issue 9, "store outage without Kafka" (no ingest topic): the embedded store refuses every insert for
// a while (`store.insert=error(N)`: the next N inserts fail, then it is back) while LiteLLM-shaped
// traffic arrives over HTTP and a Kafka topic is consumed. HTTP answers 503 + Retry-After past the
// writer's deadline (never a false ack), the Kafka partitions pause (nothing committed), the rows
// waiting in memory stay under the writer's bound, and after recovery everything acknowledged or
// produced is stored exactly once.

const kx = useTestBroker('store-outage')
const run = `${process.pid}-${Date.now()}`
const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop()
})

/** Inserts refused before the store is back: enough to outlast the Kafka pause and many HTTP sends. */
const OUTAGE = 100
const MAX_PENDING = 40
const HTTP_BATCH = 10

test('store down for a while, HTTP and Kafka ingest: 503 + Retry-After, partitions paused, memory bounded, everything acknowledged stored once', async () => {
  const topic = `outage-${run}`
  const groupId = `gw-outage-${run}`
  await createTopic(kx.kafka, topic, 3)
  const db = await freshStore('outage')
  const database = db.database
  await db.client.close()
  const cfg = kafkaTestConfig({
    database,
    brokers: kx.broker.brokers,
    topics: [topic],
    groupId,
    kafka: { max_bytes_per_partition: 8 * 1024 },
    writer: { max_pending_rows: MAX_PENDING, store_retry_deadline_ms: 300, max_batch_wait_ms: 20 },
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
  const metric = async (name: string) => {
    const body = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body
    const line = body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
  }

  const ledger = new ExpectedKafkaSpend(`outage-${run}`)
  const KAFKA = 300
  await produceAll(kx.producer, topic, spendMessages(ledger, 0, KAFKA))

  // Kafka while the store is down: partitions pause, nothing is committed, nothing stored
  await waitFor(
    'a partition paused',
    async () => (sample(), (await metric('gatewarden_kafka_paused_partitions')) > 0),
  )
  const during = await groupOffsets(kx.kafka, groupId, topic)
  const rowsDuring = (await storeCounts(gw.store)).rows
  assert.ok(down(), `the outage lasted through the observation (hits ${fp.hits('store.insert')})`)
  assert.ok(
    during.committed.every((c) => c === -1),
    `nothing committed while the store is down: ${during.committed.join()}`,
  )
  assert.equal(rowsDuring, 0, 'nothing stored while the store is down')

  // HTTP while the store is down: 503 + Retry-After; the sender resends after it (counted, not waited)
  const answers: Array<{ status: number; code?: string; retryAfter?: string }> = []
  let acked = 0
  for (let b = 0; b < 15; b++) {
    const items = Array.from({ length: HTTP_BATCH }, (_, j) => ledger.payload(KAFKA + b * HTTP_BATCH + j))
    for (let attempt = 1; ; attempt++) {
      assert.ok(attempt <= 100, `batch ${b} not accepted after 100 sends`)
      const res = await gw.app.inject({
        method: 'POST',
        url: '/ingest/litellm',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(items),
      })
      sample()
      if (res.statusCode === 200) {
        assert.deepEqual(
          res.json(),
          { accepted: HTTP_BATCH, rejected: 0, duplicates: 0 },
          'a refused send stored nothing',
        )
        acked += HTTP_BATCH
        break
      }
      answers.push({
        status: res.statusCode,
        code: res.json<{ error: { code: string } }>().error.code,
        retryAfter: res.headers['retry-after'],
      })
    }
  }
  assert.ok(answers.length > 0, 'the outage refused HTTP ingest')
  for (const a of answers) {
    assert.equal(a.status, 503, JSON.stringify(a))
    assert.equal(a.retryAfter, '5', JSON.stringify(a))
    assert.ok(a.code === 'GW_STORE_UNAVAILABLE' || a.code === 'GW_BACKPRESSURE', JSON.stringify(a))
  }
  assert.ok(!down(), 'the outage is over once every batch was accepted')

  // recovery: every acked HTTP row and every produced Kafka row, once; offsets committed; nothing paused
  await waitFor(
    `${ledger.total} rows`,
    async () => (sample(), (await storeCounts(gw.store)).rows >= ledger.total),
    90_000,
  )
  await waitFor('all offsets committed', async () => {
    const { committed, high } = await groupOffsets(kx.kafka, groupId, topic)
    return high.every((h, p) => committed[p] === h)
  })
  assert.equal(acked + KAFKA, ledger.total)
  await assertExactSpend(gw.store, ledger)
  await waitFor('no partition paused', async () => (await metric('gatewarden_kafka_paused_partitions')) === 0)
  assert.ok(maxPending <= MAX_PENDING, `pending rows stayed under max_pending_rows (max seen ${maxPending})`)
  const h = await gw.app.inject({ method: 'GET', url: '/healthz' })
  assert.equal(h.statusCode, 200)
})
