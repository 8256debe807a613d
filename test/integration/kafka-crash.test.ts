import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { createStoreClient } from '../../adapters/clickhouse/client.js'
import { StoreConfig } from '../../schemas/config.js'
import { createTopic, groupOffsets, produceAll, useTestBroker, waitFor } from '../support/kafka-broker.js'
import { assertExactSpend, spendMessages, ExpectedKafkaSpend } from '../support/kafka-spend.js'
import {
  killHard,
  spawnGatewarden,
  stopGracefully,
  waitForFailpointCrash,
  type GatewardenProcess,
} from '../support/gatewarden-process.js'

const run = `${process.pid}-${Date.now()}`
let child: GatewardenProcess | undefined

const kx = useTestBroker('crash')
after(async () => {
  if (child) await killHard(child)
})

/** Kafka events a process dropped as already stored, from its /metrics text. */
function duplicatesIn(metrics: string): number {
  return Number(/gatewarden_events_duplicate_total\{[^}]*source="kafka"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0)
}

/** Requests the child has stored, through its cost API (hourly rollup over the events' days). */
async function storedVia(p: GatewardenProcess): Promise<number> {
  try {
    const res = await fetch(
      `${p.url}/api/cost?group_by=customer&from=2025-02-11T00:00:00Z&to=2025-02-13T00:00:00Z`,
    )
    if (!res.ok) return -1
    const body = (await res.json()) as { rows: { requests: number }[] }
    return body.rows.reduce((n, r) => n + r.requests, 0)
  } catch {
    return -1
  }
}

test('kill -9 at failpoints mid-stream (committed but not acked; stored but not committed), restart: the uncommitted batch is redelivered and dropped as duplicate, exact sums', async (t) => {
  const topic = `crash-${run}`
  const groupId = `gw-crash-${run}`
  await createTopic(kx.kafka, topic, 3)
  const dir = mkdtempSync(join(tmpdir(), 'gw-kafka-crash-'))
  const database = 'kafka_crash'
  const config = (concurrency: number) =>
    stringify({
      server: { port: 0 },
      store: { data_dir: join(dir, 'data'), database },
      writer: { max_batch_wait_ms: 100 },
      kafka: {
        brokers: ['127.0.0.1:1'], // replaced by KAFKA_BROKERS
        topics: [topic],
        group_id: groupId,
        from_beginning: true,
        max_wait_ms: 100,
        session_timeout_ms: 6_000,
        heartbeat_interval_ms: 500,
        max_bytes_per_partition: 128 * 1024,
        lag_refresh_ms: 500,
        concurrency,
      },
    })
  // the crashing runs take one batch at a time: when a failpoint kills the process no other batch is
  // mid-insert (a kill during an insert can tear `requests` from its rollups; the crash loop shows it)
  const crashConfig = join(dir, 'crash.yaml')
  writeFileSync(crashConfig, config(1))
  const cleanConfig = join(dir, 'gatewarden.yaml')
  writeFileSync(cleanConfig, config(3))
  const env = {
    GATEWARDEN_CONFIG: cleanConfig,
    KAFKA_BROKERS: kx.broker.brokers.join(','),
    LOG_LEVEL: 'info',
  }
  const crashing = (failpoints: string) => ({
    ...env,
    GATEWARDEN_CONFIG: crashConfig,
    GATEWARDEN_FAILPOINTS: failpoints,
  })

  // everything is on the topic before the first start: each crash lands mid-stream, at a point the
  // failpoint names, not wherever a timer happens to fall
  const ledger = new ExpectedKafkaSpend(`crash-${run}`)
  await produceAll(kx.producer, topic, spendMessages(ledger, 0, 4_000))

  // 1: the writer's 2nd batch is committed in the store, its senders (Kafka batches) not yet acked
  child = await spawnGatewarden(crashing('writer.after_insert=crash@2'))
  const first = await waitForFailpointCrash(child)
  child = undefined
  assert.equal(first.failpoint, 'writer.after_insert')
  assert.ok(Number(first.rows) > 0, `the crashed writer batch stored rows: ${JSON.stringify(first)}`)

  // 2: the 3rd Kafka batch is stored, its offsets not committed
  child = await spawnGatewarden(crashing('kafka.before_commit=crash@3'))
  const second = await waitForFailpointCrash(child)
  child = undefined
  assert.equal(second.failpoint, 'kafka.before_commit')
  const events = Number(second.events)
  assert.ok(events > 0, `the crashed Kafka batch held events: ${JSON.stringify(second)}`)
  const { committed } = await groupOffsets(kx.kafka, groupId, topic)
  const partition = Number(second.partition)
  assert.ok(
    (committed[partition] ?? -1) <= Number(second.first),
    `partition ${partition} committed ${committed[partition]}, not past the crashed batch (from ${String(second.first)})`,
  )

  // 3: a clean start consumes the rest; the batch of crash 2 comes again and is not counted again
  child = await spawnGatewarden(env)
  let seen = 0
  await waitFor(
    () => `${ledger.total} rows via the API (saw ${seen})`,
    async () => (seen = await storedVia(child!)) === ledger.total,
    90_000,
  )
  await waitFor('all offsets committed', async () => {
    const { committed: c, high } = await groupOffsets(kx.kafka, groupId, topic)
    return high.length === 3 && high.every((h, p) => c[p] === h)
  })
  const duplicates = duplicatesIn(await (await fetch(`${child.url}/metrics`)).text())
  t.diagnostic(
    `crash 1: ${JSON.stringify(first)}; crash 2: ${JSON.stringify(second)}; ${ledger.total} produced; duplicates after restart: ${duplicates}`,
  )
  assert.ok(
    duplicates >= events,
    `the ${events} events of the stored, uncommitted batch were redelivered and dropped as duplicates (counted ${duplicates})`,
  )
  assert.equal(await stopGracefully(child), 0)
  child = undefined

  // the child is gone: read its data directory straight from this process
  const store = createStoreClient(StoreConfig.parse({ data_dir: join(dir, 'data'), database }))
  try {
    await assertExactSpend(store, ledger)
  } finally {
    await store.client.close()
  }
  rmSync(dir, { recursive: true, force: true })
})
