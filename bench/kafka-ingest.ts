/**
 * Kafka ingest part: the ingest traffic of bench/traffic.ts (~4.6 KB LiteLLM payloads, one JSON per
 * message, keyed by call id) produced to a topic of a real broker (scripts/kafka) first, timed on its
 * own, then consumed from offset 0 by a real `gatewarden start` child process (Kafka source, embedded
 * store, all detectors on) until `/api/cost` counts every event.
 *
 * Figures: the producer's rate, Gatewarden's start-up, events/s end to end (from "listening" until all
 * counted), when the group's offsets were all committed, dead letters (expected 0), the child's peak RSS
 * (VmHWM) and JS heap apart, its CPU per event by thread kind (workload.ts `cpuPerEvent`).
 * `kafka.ratio_to_parse_ceiling` is computed by the runner.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
import type { BenchOptions, BenchPart } from './part.js'
import { profileArgs, profileLines } from './profile.js'
import { trafficJson } from './traffic.js'
import {
  cpuLine,
  engineTime,
  storeStatements,
  deadLetters,
  storeWrites,
  waitCounted,
  ingestTraffic,
  r3,
  watchCpu,
  watchMemory,
  benchStoreConfig,
} from './workload.js'

const PARTITIONS = 4
/** Messages per producer send (those of one send going to one partition stay under the broker's 1 MB). */
const SEND_BATCH = 100

/** SIGTERM (graceful: drain, commit), SIGKILL if that takes over 20 s. */
async function stop(gw: GatewardenProcess): Promise<void> {
  const timer = setTimeout(() => void killHard(gw), 20_000)
  await stopGracefully(gw)
  clearTimeout(timer)
}

export const kafkaIngest: BenchPart = {
  name: 'kafka',
  async run(opts: BenchOptions) {
    const { quick } = opts
    const log = (line: string) => opts.log(line)
    const run = `${process.pid}-${Date.now()}`
    const topic = `bench-${run}`
    const groupId = `gw-bench-${run}`
    const dir = mkdtempSync(join(tmpdir(), 'gw-bench-kafka-'))
    let broker: TestBroker | undefined
    let producer: Producer | undefined
    let gw: GatewardenProcess | undefined
    try {
      const strings = trafficJson(ingestTraffic(quick))
      const events = strings.length
      const messages = strings.map((value) => ({
        key: /"litellm_call_id":"([^"]*)"/.exec(value)![1]!,
        value,
      }))
      const totalBytes = messages.reduce((a, m) => a + Buffer.byteLength(m.value), 0)

      const tb = performance.now()
      broker = startBroker('bench')
      const brokerSecs = (performance.now() - tb) / 1000
      const kafka = testKafka(broker.brokers)
      await createTopic(kafka, topic, PARTITIONS)

      // 1. produce everything first (the producer alone is measured)
      producer = await testProducer(kafka)
      const tp = performance.now()
      for (let i = 0; i < messages.length; i += SEND_BATCH)
        await produce(producer, topic, messages.slice(i, i + SEND_BATCH))
      const produceSecs = (performance.now() - tp) / 1000
      await producer.disconnect()
      producer = undefined

      // 2. a Gatewarden child process consuming the topic from offset 0
      const config = {
        store: benchStoreConfig(join(dir, 'data')),
        kafka: { brokers: broker.brokers, topics: [topic], group_id: groupId, from_beginning: true },
      }
      const configPath = join(dir, 'gatewarden.yaml')
      writeFileSync(configPath, JSON.stringify(config, null, 2)) // JSON is YAML
      const ts = performance.now()
      gw = await spawnGatewarden({ GATEWARDEN_CONFIG: configPath }, undefined, profileArgs(opts.profileDir))
      const tl = performance.now()
      const cpuWatch = watchCpu(gw)
      const statementsBefore = await storeStatements(gw.url)
      const memory = watchMemory(gw.child.pid!, gw.url)
      const counted = await waitCounted(gw.url, events, 600_000)
      const tq = performance.now()
      const cpu = cpuWatch.stop('kafka', events, tq - tl)
      const engine = engineTime('kafka', statementsBefore, await storeStatements(gw.url), (tq - tl) / 1000)
      const mem = await memory.stop()
      let committedSecs = NaN
      await waitFor(
        'all offsets committed',
        async () => {
          const { committed, high } = await groupOffsets(kafka, groupId, topic)
          return high.length === PARTITIONS && high.every((h, p) => committed[p] === h)
        },
        60_000,
        100,
      ).then(
        () => (committedSecs = (performance.now() - tl) / 1000),
        () => undefined,
      )
      const dead = await deadLetters(gw.url)
      const writes = await storeWrites(gw.url, 'kafka')
      await stop(gw)
      gw = undefined
      const profiles = opts.profileDir ? profileLines(opts.profileDir) : []
      broker.destroy()
      broker = undefined
      if (counted !== events) throw new Error(`counted ${counted} of ${events} events`)

      const e2eSecs = (tq - tl) / 1000
      const rate = events / e2eSecs
      log(
        `${events} events (~${Math.round(totalBytes / events)} B each, one per message), ${PARTITIONS} partitions, broker started in ${brokerSecs.toFixed(1)} s; producer alone ${Math.round(events / produceSecs)} events/s`,
      )
      log(
        `gatewarden start ${((tl - ts) / 1000).toFixed(2)} s; end to end ${Math.round(rate)} events/s (${e2eSecs.toFixed(2)} s from listening); offsets committed ${Number.isNaN(committedSecs) ? 'not within 60 s' : `at ${committedSecs.toFixed(2)} s`}; dead letters ${dead}; peak RSS ${mem.rssPeakMiB.toFixed(0)} MiB, JS heap peak ${mem.heapPeakMiB.toFixed(0)} MiB`,
      )
      log(cpuLine('kafka', cpu))
      log(engine.line)
      for (const line of profiles) log(line)
      log(
        `store: ${writes['kafka.store.batches']} batches, ${writes['kafka.store.rows_per_batch.mean']} rows and ${writes['kafka.store.write_ms_per_batch.mean']} ms each on average; duplicate lookups ${writes['kafka.store.dedupe_lookups.skipped']} skipped, ${writes['kafka.store.dedupe_lookups.narrowed']} narrowed, ${writes['kafka.store.dedupe_lookups.store']} of every id`,
      )
      return {
        'kafka.events': events,
        'kafka.partitions': PARTITIONS,
        'kafka.payload_bytes.mean': Math.round(totalBytes / events),
        'kafka.broker_start_s': r3(brokerSecs),
        'kafka.producer.events_per_s': Math.round(events / produceSecs),
        'kafka.producer.mib_per_s': r3(totalBytes / 1048576 / produceSecs),
        'kafka.startup_s': r3((tl - ts) / 1000),
        'kafka.end_to_end.events_per_s': Math.round(rate),
        'kafka.end_to_end_s': r3(e2eSecs),
        'kafka.offsets_committed_s': Number.isNaN(committedSecs) ? 'not within 60 s' : r3(committedSecs),
        'kafka.dead_letters': dead,
        'kafka.rss_mib.peak': r3(mem.rssPeakMiB),
        'kafka.js_heap_used_mib.peak': r3(mem.heapPeakMiB),
        'kafka.non_heap_mib.at_heap_peak': r3(mem.nonHeapAtHeapPeakMiB),
        ...cpu,
        ...engine.figures,
        ...writes,
      }
    } finally {
      if (gw) await killHard(gw)
      await producer?.disconnect()
      broker?.destroy()
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
