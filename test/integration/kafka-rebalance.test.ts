import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clickHouseEventStore } from '../../adapters/clickhouse/store.js'
import { createMetrics, type Metrics } from '../../adapters/telemetry/metrics.js'
import { WriterConfig } from '../../schemas/config.js'
import { BatchWriter } from '../../services/ingest/batch-writer.js'
import { KafkaIngest } from '../../services/ingest/kafka-ingest.js'
import { createTopic, groupOffsets, produceAll, useTestBroker, waitFor } from '../support/kafka-broker.js'
import { assertExactSpend, spendMessages, ExpectedKafkaSpend, storeCounts } from '../support/kafka-spend.js'
import { kafkaTestConfig, testLog } from '../support/kafka-gatewarden.js'
import { freshStore } from '../support/store.js'

/** A started Kafka source (what `services/start.ts` does with its part). */
async function startKafka(deps: ConstructorParameters<typeof KafkaIngest>[0]): Promise<KafkaIngest> {
  const k = new KafkaIngest(deps)
  await k.start()
  return k
}

const run = `${process.pid}-${Date.now()}`

const kx = useTestBroker('rebalance')

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

test('two consumers in one group, joining and leaving mid-stream: every event counted once', async () => {
  const topic = `rebalance-${run}`
  const groupId = `gw-rebalance-${run}`
  await createTopic(kx.kafka, topic, 4)
  const store = await freshStore('kafka_rebalance')
  const log = testLog()
  const writer = new BatchWriter(
    clickHouseEventStore(store),
    WriterConfig.parse({ max_batch_wait_ms: 30 }),
    log,
  )
  const cfg = kafkaTestConfig({
    database: store.database,
    brokers: kx.broker.brokers,
    topics: [topic],
    groupId,
    kafka: { max_bytes_per_partition: 32 * 1024 },
  })
  // one shared writer; each consumer counts what it handed over
  const handed = { a: 0, b: 0 }
  const member = async (name: 'a' | 'b', metrics: Metrics): Promise<KafkaIngest> =>
    startKafka({
      kafka: cfg.kafka!,
      config: cfg,
      writer: {
        isSaturated: (rows) => writer.isSaturated(rows),
        submit: async (events, dead) => {
          const r = await writer.submit(events, dead)
          handed[name] += events.length
          return r
        },
      },
      metrics,
      log: log.child({ member: name }),
      env: {},
    })
  const metricsA = createMetrics()
  const metricsB = createMetrics()
  const ledger = new ExpectedKafkaSpend(`rebalance-${run}`)
  let a: KafkaIngest | undefined
  let b: KafkaIngest | undefined
  try {
    a = await member('a', metricsA)
    const chunk = 150
    let produced = 0
    const produceChunk = async () => {
      await produceAll(kx.producer, topic, spendMessages(ledger, produced, produced + chunk))
      produced += chunk
    }
    for (let i = 0; i < 3; i++) await produceChunk()
    // B joins: the group rebalances while A is mid-stream
    b = await member('b', metricsB)
    for (let i = 0; i < 4; i++) {
      await produceChunk()
      await sleep(150)
    }
    await waitFor('B got work', () => handed.b > 0, 30_000)
    // A leaves: its partitions move to B, which resumes from A's last commit
    await a.shutdown(30_000)
    a = undefined
    for (let i = 0; i < 3; i++) await produceChunk()

    await waitFor(`${ledger.total} rows`, async () => (await storeCounts(store)).rows >= ledger.total)
    await waitFor('all offsets committed', async () => {
      const { committed, high } = await groupOffsets(kx.kafka, groupId, topic)
      return high.length === 4 && high.every((h, p) => committed[p] === h)
    })
    await assertExactSpend(store, ledger)
    assert.ok(handed.a > 0 && handed.b > 0, `both members stored events (a=${handed.a}, b=${handed.b})`)
  } finally {
    await a?.shutdown(30_000)
    await b?.shutdown(30_000)
    await writer.shutdown()
    await metricsA.shutdown()
    await metricsB.shutdown()
    await store.client.close()
  }
})
