/**
 * Kafka ingest benchmark: LiteLLM StandardLoggingPayload JSON (~4 KB each, one per message) produced to a
 * topic of the real broker (scripts/kafka) first, then consumed from offset 0 by a real `gatewarden start`
 * child process (Kafka source, embedded store), until every event is queryable.
 *
 * Prints: the producer's rate (measured alone, before Gatewarden starts), Gatewarden's start-up time,
 * events/s end to end (from "listening" until /api/cost counts all N), when the group's offsets were all
 * committed, the same rows' ceiling (the embedded engine inserting pre-mapped rows in-process, same run),
 * the ratio, and Gatewarden's peak RSS (VmHWM).
 * Usage: npm run bench:kafka [-- --events 50000 --partitions 4 --send-batch 100]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { benchPayloads, storeCeiling } from './workload.js'
import type { Producer } from 'kafkajs'
import {
  killHard,
  spawnGatewarden,
  stopGracefully,
  type GatewardenProcess,
} from '../test/support/gatewarden-process.js'
import {
  createTopic,
  groupOffsets,
  produce,
  startBroker,
  testKafka,
  testProducer,
  waitFor,
  type TestBroker,
} from '../test/support/kafka-broker.js'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    partitions: { type: 'string', default: '4' },
    'send-batch': { type: 'string', default: '100' },
  },
})
const EVENTS = Number(values.events)
const PARTITIONS = Number(values.partitions)
const SEND_BATCH = Number(values['send-batch'])
const HOUR = 3_600_000

/** Events counted by /api/cost over whole hours (answered by the hourly rollup). */
async function countedEvents(url: string, fromMs: number): Promise<number> {
  const from = new Date(fromMs).toISOString()
  const to = new Date(fromMs + 4 * HOUR).toISOString()
  const res = await fetch(`${url}/api/cost?group_by=customer&from=${from}&to=${to}&limit=100000`)
  if (res.status !== 200) throw new Error(`/api/cost answered ${res.status}: ${await res.text()}`)
  const body = (await res.json()) as { rows: Array<{ requests: number }> }
  return body.rows.reduce((a, r) => a + r.requests, 0)
}

/** SIGTERM (graceful: drain, commit), SIGKILL if that takes over 20 s. */
async function stop(gw: GatewardenProcess): Promise<void> {
  const timer = setTimeout(() => void killHard(gw), 20_000)
  await stopGracefully(gw)
  clearTimeout(timer)
}

async function main(): Promise<void> {
  const run = `${process.pid}-${Date.now()}`
  const topic = `bench-${run}`
  const groupId = `gw-bench-${run}`
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-kafka-'))
  const t0 = Date.now() - HOUR
  const fromMs = Math.floor(t0 / HOUR) * HOUR - HOUR
  let broker: TestBroker | undefined
  let producer: Producer | undefined
  let gw: GatewardenProcess | undefined
  try {
    const tb = performance.now()
    broker = startBroker('bench')
    const brokerSecs = (performance.now() - tb) / 1000
    const kafka = testKafka(broker.brokers)
    await createTopic(kafka, topic, PARTITIONS)

    // 1. produce everything first (the producer alone is measured)
    const messages = benchPayloads(EVENTS, `k${run}`, t0).map((p) => ({
      key: String(p.litellm_call_id),
      value: JSON.stringify(p),
    }))
    const totalBytes = messages.reduce((a, m) => a + Buffer.byteLength(m.value), 0)
    producer = await testProducer(kafka)
    const tp = performance.now()
    for (let i = 0; i < messages.length; i += SEND_BATCH)
      await produce(producer, topic, messages.slice(i, i + SEND_BATCH))
    const produceSecs = (performance.now() - tp) / 1000
    await producer.disconnect()
    producer = undefined

    // 2. a Gatewarden child process consuming the topic from offset 0
    const config = {
      store: { data_dir: join(dir, 'data') },
      kafka: { brokers: broker.brokers, topics: [topic], group_id: groupId, from_beginning: true },
    }
    const configPath = join(dir, 'gatewarden.yaml')
    writeFileSync(configPath, JSON.stringify(config, null, 2)) // JSON is YAML
    const ts = performance.now()
    gw = await spawnGatewarden({ GATEWARDEN_CONFIG: configPath })
    const tl = performance.now()
    let counted = 0
    await waitFor(
      () => `${EVENTS} events counted (${counted} so far)`,
      async () => (counted = await countedEvents(gw!.url, fromMs)) >= EVENTS,
      600_000,
      200,
    )
    const tq = performance.now()
    let committedSecs = NaN
    await waitFor(
      'all offsets committed',
      async () => {
        const { committed, high } = await groupOffsets(kafka, groupId, topic)
        return high.length === PARTITIONS && high.every((h, p) => committed[p] === h)
      },
      60_000,
      200,
    ).then(
      () => (committedSecs = (performance.now() - tl) / 1000),
      () => undefined,
    )
    const deadLetters = (
      (await (await fetch(`${gw.url}/api/dead-letters?limit=1000`)).json()) as { dead_letters: unknown[] }
    ).dead_letters.length
    const status = readFileSync(`/proc/${gw.child.pid}/status`, 'utf8')
    const peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN)
    await stop(gw)
    gw = undefined
    broker.destroy()
    broker = undefined
    if (counted !== EVENTS) throw new Error(`counted ${counted} of ${EVENTS} events`)

    // 3. the ceiling: the same engine inserting the same rows, pre-mapped, in this process
    const ceil = await storeCeiling(benchPayloads(EVENTS, `c${run}`, t0), 'kafka')
    const e2eSecs = (tq - tl) / 1000
    const rate = EVENTS / e2eSecs
    const lines = [
      `kafka ingest: ${EVENTS} LiteLLM events (~${Math.round(totalBytes / EVENTS)} B each, one per message), topic of ${PARTITIONS} partitions, real broker on this machine (started in ${brokerSecs.toFixed(1)} s)`,
      `  producer alone (kafkajs, idempotent, acks=all, sends of ${SEND_BATCH}): ${Math.round(EVENTS / produceSecs)} events/s, ${(totalBytes / 1048576 / produceSecs).toFixed(1)} MiB/s (${produceSecs.toFixed(2)} s)`,
      `  gatewarden start (spawn -> listening, store open + migrations): ${((tl - ts) / 1000).toFixed(2)} s`,
      `  end to end (consumed from offset 0, counted by /api/cost): ${Math.round(rate)} events/s (${e2eSecs.toFixed(2)} s from listening; ${((tq - ts) / 1000).toFixed(2)} s from spawn)`,
      `  all offsets committed: ${Number.isNaN(committedSecs) ? 'not within 60 s of counting' : `${committedSecs.toFixed(2)} s from listening`}; dead letters: ${deadLetters}`,
      `  ceiling (embedded store insert of pre-mapped rows, same machine, same run): ${Math.round(ceil)} events/s`,
      `  ratio to ceiling: ${(rate / ceil).toFixed(2)}`,
      `  gatewarden peak RSS (VmHWM): ${(peakKb / 1024).toFixed(0)} MiB`,
    ]
    process.stdout.write(`${lines.join('\n')}\n`)
  } finally {
    if (gw) await killHard(gw)
    await producer?.disconnect()
    broker?.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
