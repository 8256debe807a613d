import { test } from 'node:test'
import assert from 'node:assert/strict'
import pino from 'pino'
import type { EventStore } from '../../core/ports/event-store.js'
import { clickHouseEventStore } from '../../adapters/clickhouse/store.js'
import { createMetrics } from '../../adapters/telemetry/metrics.js'
import { WriterConfig } from '../../schemas/config.js'
import { BatchWriter } from '../../services/ingest/batch-writer.js'
import { KafkaIngest } from '../../services/ingest/kafka-ingest.js'
import { createTopic, groupOffsets, produceAll, useTestBroker, waitFor } from '../support/kafka-broker.js'
import { assertExactSpend, spendMessages, ExpectedKafkaSpend, storeCounts } from '../support/kafka-spend.js'
import { kafkaTestConfig, lagByPartition, testLog } from '../support/kafka-gatewarden.js'
import { freshStore } from '../support/store.js'

/** A started Kafka source (what `services/start.ts` does with its part). */
async function startKafka(deps: ConstructorParameters<typeof KafkaIngest>[0]): Promise<KafkaIngest> {
  const k = new KafkaIngest(deps)
  await k.start()
  return k
}

const run = `${process.pid}-${Date.now()}`

const kx = useTestBroker('backpressure')

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

test('store down: partitions pause, nothing is committed, lag shows the backlog; store back: exact sums', async () => {
  const topic = `bp-${run}`
  const groupId = `gw-bp-${run}`
  await createTopic(kx.kafka, topic, 3)
  const store = await freshStore('kafka_bp')
  const real = clickHouseEventStore(store)
  let down = true
  let slowMs = 0
  let refused = 0
  const gate = async () => {
    if (down) {
      refused++
      throw new Error('store down (test)')
    }
    if (slowMs) await sleep(slowMs)
  }
  const flaky: EventStore = {
    existingEventIds: async (...a) => (await gate(), real.existingEventIds(...a)),
    insertRequests: async (...a) => (await gate(), real.insertRequests(...a)),
    insertDeadLetters: async (...a) => (await gate(), real.insertDeadLetters(...a)),
    ping: () => real.ping(),
  }
  const log = testLog()
  // small pending limit and a short store deadline: refusals come fast
  const writer = new BatchWriter(
    flaky,
    WriterConfig.parse({ max_batch_wait_ms: 20, max_pending_rows: 15, store_retry_deadline_ms: 300 }),
    log,
  )
  let saturatedSeen = 0
  const spy = {
    submit: writer.submit.bind(writer),
    isSaturated: (rows: number) => {
      const s = writer.isSaturated(rows)
      if (s) saturatedSeen++
      return s
    },
  }
  const metrics = createMetrics()
  const cfg = kafkaTestConfig({
    database: store.database,
    brokers: kx.broker.brokers,
    topics: [topic],
    groupId,
    kafka: { max_bytes_per_partition: 64 * 1024 },
  })
  const ingest = await startKafka({
    kafka: cfg.kafka!,
    config: cfg,
    writer: spy,
    metrics,
    log,
    env: {},
  })
  const scrape = () =>
    new Promise<string>((resolve) => {
      let body = ''
      const res = {
        statusCode: 0,
        setHeader: () => undefined,
        end: (b?: string) => resolve(body + (b ?? '')),
        write: (b: string) => (body += b),
      }
      metrics.handle({ url: '/metrics', headers: {} } as never, res as never)
    })
  try {
    const ledger = new ExpectedKafkaSpend(`bp-${run}`)
    await produceAll(kx.producer, topic, spendMessages(ledger, 0, 600))

    await waitFor('a partition paused', () => ingest.pausedPartitions() > 0)
    // the paused partitions were fetched and refused again, several rounds: still nothing may be in
    await waitFor(`the store to refuse 10 calls (refused ${refused})`, () => refused >= 10, 30_000)
    assert.equal((await storeCounts(store)).rows, 0)
    const during = await groupOffsets(kx.kafka, groupId, topic)
    assert.ok(
      during.committed.every((c) => c === -1),
      `nothing committed while the store is down: ${during.committed.join()}`,
    )
    let lastText = ''
    await waitFor(
      () => `lag to show the backlog ${during.high.join()}; /metrics:\n${lastText}`,
      async () => {
        lastText = await scrape()
        const lag = lagByPartition(lastText, topic)
        return (
          lag.size === 3 &&
          [...lag.entries()].every(([p, v]) => v === during.high[p]) &&
          [...lag.values()].some((v) => v > 0)
        )
      },
    )

    // the store comes back, slow: the writer saturates and partitions pause and resume until all is in
    down = false
    slowMs = 150
    await waitFor(`${ledger.total} rows`, async () => (await storeCounts(store)).rows >= ledger.total, 90_000)
    await waitFor('all offsets committed', async () => {
      const { committed, high } = await groupOffsets(kx.kafka, groupId, topic)
      return high.every((h, p) => committed[p] === h)
    })
    await assertExactSpend(store, ledger)
    assert.ok(saturatedSeen > 0, 'the writer saturated at least once')
    await waitFor('no partition paused', () => ingest.pausedPartitions() === 0)
    await waitFor('lag 0', async () =>
      [...lagByPartition(await scrape(), topic).values()].every((v) => v === 0),
    )
  } finally {
    await ingest.shutdown(30_000)
    await writer.shutdown()
    await metrics.shutdown()
    await store.client.close()
  }
})

test('shutdown() drains the in-flight batch and commits it', async () => {
  const topic = `drain-${run}`
  const groupId = `gw-drain-${run}`
  await createTopic(kx.kafka, topic, 1)
  const store = await freshStore('kafka_drain')
  const real = clickHouseEventStore(store)
  let release: () => void = () => undefined
  const held = new Promise<void>((r) => (release = r))
  let inserts = 0
  const slow: EventStore = {
    ...real,
    insertRequests: async (...a) => {
      inserts++
      await held
      return real.insertRequests(...a)
    },
  }
  // kafkajs logs (debug) 'Stopping fetchers...' when its stop starts waiting for the fetchers, one of them
  // holding the batch in flight: the moment to let that batch finish
  const logLines: string[] = []
  const log = pino({ level: 'debug' }, { write: (l: string) => void logLines.push(l) })
  const writer = new BatchWriter(slow, WriterConfig.parse({ max_batch_wait_ms: 20 }), log)
  const metrics = createMetrics()
  const cfg = kafkaTestConfig({
    database: store.database,
    brokers: kx.broker.brokers,
    topics: [topic],
    groupId,
  })
  const ingest = await startKafka({ kafka: cfg.kafka!, config: cfg, writer, metrics, log, env: {} })
  const ledger = new ExpectedKafkaSpend(`drain-${run}`)
  const messages = spendMessages(ledger, 0, 40)
  const itemsPer = messages.map(
    (m) => String(m.value).split('\n').length * (String(m.value).startsWith('[') ? 5 : 1),
  )
  await produceAll(kx.producer, topic, messages)
  await waitFor('a batch is being stored', () => inserts > 0)
  const stopping = ingest.shutdown(30_000)
  let stopped = false
  void stopping.then(() => (stopped = true))
  await waitFor('the stop waits for the batch in flight', () =>
    logLines.some((l) => l.includes('"msg":"Stopping fetchers..."')),
  )
  assert.equal(stopped, false, 'shutdown does not end while its batch is being stored')
  release()
  await stopping
  await writer.shutdown()
  const { committed } = await groupOffsets(kx.kafka, groupId, topic)
  const stored = (await storeCounts(store)).rows
  assert.ok(committed[0]! > 0, 'the in-flight batch was committed')
  // exactly what was stored is committed: the messages before the committed offset hold the stored rows
  assert.equal(
    stored,
    itemsPer.slice(0, committed[0]).reduce((a, b) => a + b, 0),
  )
  await metrics.shutdown()
  await store.client.close()
})

test('a batch stored but not acknowledged (consumer dies before its commit) is redelivered and counted once', async () => {
  const topic = `redeliver-${run}`
  const groupId = `gw-redeliver-${run}`
  await createTopic(kx.kafka, topic, 2)
  const store = await freshStore('kafka_redeliver')
  const log = testLog()
  const writer = new BatchWriter(
    clickHouseEventStore(store),
    WriterConfig.parse({ max_batch_wait_ms: 20 }),
    log,
  )
  const metrics = createMetrics()
  let failures = 0
  let duplicates = 0
  const cfg = kafkaTestConfig({
    database: store.database,
    brokers: kx.broker.brokers,
    topics: [topic],
    groupId,
  })
  const ingest = await startKafka({
    kafka: cfg.kafka!,
    config: cfg,
    // the first two submissions reach the store, then "fail" as if the process died before committing
    writer: {
      isSaturated: (rows) => writer.isSaturated(rows),
      submit: async (events, dead) => {
        const receipt = await writer.submit(events, dead)
        duplicates += receipt.duplicates
        if (failures < 2 && receipt.stored > 0) {
          failures++
          throw new Error('lost the ack after the store committed (test)')
        }
        return receipt
      },
    },
    metrics,
    log,
    env: {},
  })
  try {
    const ledger = new ExpectedKafkaSpend(`redeliver-${run}`)
    await produceAll(kx.producer, topic, spendMessages(ledger, 0, 200))
    await waitFor('all offsets committed', async () => {
      const { committed, high } = await groupOffsets(kx.kafka, groupId, topic)
      return high.length === 2 && high.every((h, p) => committed[p] === h) && failures === 2
    })
    await assertExactSpend(store, ledger)
    assert.ok(duplicates > 0, 'the redelivered batches were dropped as duplicates')
  } finally {
    await ingest.shutdown(30_000)
    await writer.shutdown()
    await metrics.shutdown()
    await store.client.close()
  }
})
