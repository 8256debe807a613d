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
  type GatewardenProcess,
} from '../support/gatewarden-process.js'

const run = `${process.pid}-${Date.now()}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
let child: GatewardenProcess | undefined

const kx = useTestBroker('crash')
after(async () => {
  if (child) await killHard(child)
})

/** Kafka events a process dropped as already stored, from its /metrics text. */
function duplicatesIn(metrics: string): number {
  return Number(/gatewarden_events_duplicate_total\{[^}]*source="kafka"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0)
}

/** SIGKILL as soon as the child logs its next stored batch (its offsets are committed only after that line). */
function killOnBatchStored(p: GatewardenProcess): Promise<void> {
  return new Promise((resolve) => {
    const kill = () => {
      p.child.kill('SIGKILL')
      p.child.stdout!.off('data', onData)
      clearTimeout(fallback)
      resolve(killHard(p))
    }
    const onData = (chunk: Buffer) => {
      const text = chunk.toString()
      if (/"msg":"batch stored"/.test(text) && !/"rows":0,/.test(text)) kill()
    }
    const fallback = setTimeout(kill, 30_000)
    p.child.stdout!.on('data', onData)
  })
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

test('kill -9 of the Gatewarden process mid-stream, twice, then restart: exact sums, nothing counted twice', async (t) => {
  const topic = `crash-${run}`
  const groupId = `gw-crash-${run}`
  await createTopic(kx.kafka, topic, 3)
  const dir = mkdtempSync(join(tmpdir(), 'gw-kafka-crash-'))
  const database = 'kafka_crash'
  const configFile = join(dir, 'gatewarden.yaml')
  writeFileSync(
    configFile,
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
        max_bytes_per_partition: 256 * 1024,
        lag_refresh_ms: 500,
      },
    }),
  )
  const env = { GATEWARDEN_CONFIG: configFile, KAFKA_BROKERS: kx.broker.brokers.join(','), LOG_LEVEL: 'info' }

  const ledger = new ExpectedKafkaSpend(`crash-${run}`)
  let producing = true
  const background = (async () => {
    for (let i = 0; producing && i < 4_000; i += 40) {
      await produceAll(kx.producer, topic, spendMessages(ledger, i, i + 40))
      await sleep(100)
    }
  })()

  const kills: number[] = []
  let duplicates = 0
  for (let round = 0; round < 2; round++) {
    // round 0 is killed at a random point; round 1 right after the writer logs a stored batch, before
    // the consumer can commit its offsets (debug logs), so its batch must be redelivered
    const exact = round === 1
    child = await spawnGatewarden(exact ? { ...env, LOG_LEVEL: 'debug' } : env)
    const floor = Math.max(0, ...kills) + 300
    await waitFor(
      `child ${round} to store ${floor} rows`,
      async () => (await storedVia(child!)) >= floor,
      60_000,
    )
    duplicates += duplicatesIn(await (await fetch(`${child.url}/metrics`)).text())
    kills.push(await storedVia(child))
    if (exact) await killOnBatchStored(child)
    else await killHard(child)
    child = undefined
  }

  child = await spawnGatewarden(env)
  await sleep(1_000)
  producing = false
  await background
  let seen = 0
  await waitFor(
    () => `${ledger.total} rows via the API (saw ${seen})`,
    async () => (seen = await storedVia(child!)) === ledger.total,
    90_000,
  )
  await waitFor('all offsets committed', async () => {
    const { committed, high } = await groupOffsets(kx.kafka, groupId, topic)
    return high.length === 3 && high.every((h, p) => committed[p] === h)
  })
  duplicates += duplicatesIn(await (await fetch(`${child.url}/metrics`)).text())
  t.diagnostic(
    `killed at ${kills.join(', ')} stored rows; ${ledger.total} produced; redelivered events dropped as duplicates: ${duplicates}`,
  )
  assert.ok(duplicates > 0, 'a batch stored but not committed was redelivered (and not counted again)')
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
