/**
 * HTTP ingest part: LiteLLM `generic_api` batches (JSON arrays of 512 payloads of bench/traffic.ts, ~4.6
 * KB each) POSTed to `/ingest/litellm` of a real `gatewarden start` child process (embedded store, the
 * default config: all detectors on), in two phases:
 *
 * 1. Capacity: `CONCURRENCY` (16) senders, each waiting for its answer (sent after the batch is committed)
 *    before it sends its next batch, as a LiteLLM worker's batch logger does (one flush at a time), until
 *    `/api/cost` counts every event. The events/s of this phase is the part's rate
 *    (`http.end_to_end.events_per_s`), its acks `http.ack_latency_ms`: with 16 x 512 events always in
 *    flight, an ack takes what that queue takes to drain (Little's law), whatever the load a fleet brings.
 *    (4 senders until 2026-12-04: 2,048 in flight held the store's batches to ~900 rows, where an insert's
 *    fixed cost is most of its CPU; bench/README.md.)
 * 2. Ack latency at a load below capacity (`http.open_loop.*`): other events POSTed on a fixed schedule,
 *    `OPEN_LOOP_SHARE` of phase 1's rate, each POST sent at its time whatever the answers before it (an
 *    open loop: a fleet of gateways does not slow down because one ack is late). Its acks are the
 *    latency a sender sees at that load.
 *
 * The first POSTs of a fresh process are its slowest (JIT, the parse worker's first payloads, the store's
 * first parts): 664-924 ms for the first 4 POSTs of a quick run against 180-420 ms after, so with ~200
 * POSTs they alone made the p99. `WARMUP_POSTS` POSTs of other events go first; their acks are reported
 * apart (`http.warmup.ack_latency_ms.max`); the rate, ack, CPU and engine figures start after them (the
 * store-batch figures, from the child's `/metrics` totals, include them).
 *
 * Figures: events/s end to end (first measured POST -> all counted), ack latency per POST p50/p99, the child's
 * peak RSS (VmHWM) and its JS heap (peak of `/metrics` samples) apart, dead letters (expected 0), and
 * the child's CPU per event by thread kind (workload.ts `cpuPerEvent`), from the first POST to counted.
 * `http.ratio_to_parse_ceiling` is computed by the runner from this run's parse ceiling.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { killHard, spawnGatewarden, stopGracefully } from '../test/support/gatewarden-process.js'
import type { BenchOptions, BenchPart } from './part.js'
import { profileArgs, profileLines } from './profile.js'
import { jsonArray, trafficJson } from './traffic.js'
import {
  cpuLine,
  deadLetters,
  engineTime,
  storeStatements,
  storeWrites,
  waitCounted,
  ingestTraffic,
  pct,
  postIngest,
  sendOpenLoop,
  r3,
  watchCpu,
  watchMemory,
  benchStoreConfig,
} from './workload.js'

const BATCH = 512
const CONCURRENCY = 16
/** Phase 2's offered load, as a share of phase 1's rate. */
const OPEN_LOOP_SHARE = 0.75
/** Phase 2's events (a quick run: a fifth). */
const openLoopEvents = (quick: boolean) => (quick ? 10_240 : 51_200)
const WARMUP_POSTS = 8

/**
 * The POST bodies of `payloads`: JSON arrays of `BATCH`, encoded once here (the senders share Gatewarden's
 * two cores: a string body would be encoded again at every POST).
 */
function posts(payloads: readonly string[]): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < payloads.length; i += BATCH)
    out.push(Buffer.from(jsonArray(payloads.slice(i, i + BATCH))))
  return out
}

/** POSTs `bodies` from `CONCURRENCY` senders, each waiting for its answer; the ack latency of each. */
async function send(url: string, bodies: readonly Buffer[]): Promise<number[]> {
  const latencies: number[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) latencies.push(await postIngest(url, bodies[next++]!))
    }),
  )
  return latencies
}

export const httpIngest: BenchPart = {
  name: 'http',
  async run(opts: BenchOptions) {
    const { quick } = opts
    const log = (line: string) => opts.log(line)
    const strings = trafficJson(ingestTraffic(quick))
    const events = strings.length
    const bodies = posts(strings)
    const warm = trafficJson({
      ...ingestTraffic(quick),
      events: WARMUP_POSTS * BATCH,
      seed: 11,
      idPrefix: 'bench-warmup',
    })
    const warmBodies = posts(warm)
    const open = trafficJson({
      ...ingestTraffic(quick),
      events: openLoopEvents(quick),
      seed: 12,
      idPrefix: 'bench-open',
    })
    const openBodies = posts(open)
    const bytes = bodies.reduce((a, b) => a + b.length, 0)

    const dir = mkdtempSync(join(tmpdir(), 'gw-bench-http-'))
    const config = join(dir, 'gatewarden.yaml')
    writeFileSync(config, JSON.stringify({ store: benchStoreConfig(join(dir, 'data')) })) // JSON is YAML
    const gw = await spawnGatewarden({ GATEWARDEN_CONFIG: config }, undefined, profileArgs(opts.profileDir))
    try {
      const memory = watchMemory(gw.child.pid!, gw.url)
      // acked = committed: the warm-up is stored before the measured part starts
      const warmLatencies = await send(gw.url, warmBodies)
      const cpuWatch = watchCpu(gw)
      const statementsBefore = await storeStatements(gw.url)
      const t0 = performance.now()
      const senderCpu0 = process.cpuUsage()
      const latencies = await send(gw.url, bodies)
      const acked = performance.now() - t0
      const senderCpu = process.cpuUsage(senderCpu0)
      const senderCores = (senderCpu.user + senderCpu.system) / 1000 / acked
      const counted = (await waitCounted(gw.url, events + warm.length, 120_000)) - warm.length
      const secs = (performance.now() - t0) / 1000
      const cpu = cpuWatch.stop('http', events, secs * 1000)
      const engine = engineTime('http', statementsBefore, await storeStatements(gw.url), secs)
      const writes = await storeWrites(gw.url, 'http')
      if (counted !== events) throw new Error(`counted ${counted} of ${events} events`)
      const rate = events / secs
      // phase 2: an open loop below the capacity just measured
      const offered = OPEN_LOOP_SHARE * rate
      const to = performance.now()
      const openLoop = await sendOpenLoop(gw.url, openBodies, BATCH, offered)
      const openAcked = performance.now() - to
      const openCounted =
        (await waitCounted(gw.url, events + warm.length + open.length, 120_000)) - events - warm.length
      if (openCounted !== open.length)
        throw new Error(`open loop: counted ${openCounted} of ${open.length} events`)
      const sentRate = ((openBodies.length - 1) * BATCH) / (openLoop.sentSpanMs / 1000)
      const mem = await memory.stop()
      const dead = await deadLetters(gw.url)
      // a profiled child is stopped gracefully: V8 writes its profiles as it exits
      if (opts.profileDir) await stopGracefully(gw)
      const profiles = opts.profileDir ? profileLines(opts.profileDir) : []
      log(
        `${events} events (~${Math.round(bytes / events)} B each), ${bodies.length} POSTs of ${BATCH} after ${WARMUP_POSTS} warm-up POSTs (slowest ack ${Math.max(...warmLatencies).toFixed(0)} ms), concurrency ${CONCURRENCY}: ${Math.round(rate)} events/s end to end (${secs.toFixed(2)} s; all acked at ${(acked / 1000).toFixed(2)} s)`,
      )
      log(
        `ack latency p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms; peak RSS ${mem.rssPeakMiB.toFixed(0)} MiB, JS heap peak ${mem.heapPeakMiB.toFixed(0)} MiB; dead letters ${dead}`,
      )
      log(
        `open loop at ${OPEN_LOOP_SHARE} of that rate: ${open.length} events in ${openBodies.length} POSTs sent at ${Math.round(sentRate)} events/s (asked ${Math.round(offered)}), all acked at ${(openAcked / 1000).toFixed(2)} s; ack latency p50 ${pct(openLoop.latencies, 50).toFixed(1)} ms, p99 ${pct(openLoop.latencies, 99).toFixed(1)} ms, max ${Math.max(...openLoop.latencies).toFixed(1)} ms; latest send ${openLoop.maxLateMs.toFixed(1)} ms after its time`,
      )
      log(cpuLine('http', cpu))
      log(`the senders (this process, the same two cores) used ${senderCores.toFixed(3)} cores while sending`)
      log(engine.line)
      for (const line of profiles) log(line)
      log(
        `store: ${writes['http.store.batches']} batches, ${writes['http.store.rows_per_batch.mean']} rows and ${writes['http.store.write_ms_per_batch.mean']} ms each on average; duplicate lookups ${writes['http.store.dedupe_lookups.skipped']} skipped, ${writes['http.store.dedupe_lookups.narrowed']} narrowed, ${writes['http.store.dedupe_lookups.store']} of every id`,
      )
      return {
        'http.events': events,
        'http.payload_bytes.mean': Math.round(bytes / events),
        'http.batch_events': BATCH,
        'http.concurrency': CONCURRENCY,
        'http.end_to_end.events_per_s': Math.round(rate),
        'http.end_to_end_s': r3(secs),
        'http.all_acked_s': r3(acked / 1000),
        'http.ack_latency_ms.p50': r3(pct(latencies, 50)),
        'http.ack_latency_ms.p99': r3(pct(latencies, 99)),
        'http.ack_latency_ms.max': r3(Math.max(...latencies)),
        'http.open_loop.events': open.length,
        'http.open_loop.share_of_rate': OPEN_LOOP_SHARE,
        'http.open_loop.offered_events_per_s': Math.round(sentRate),
        'http.open_loop.all_acked_s': r3(openAcked / 1000),
        'http.open_loop.ack_latency_ms.p50': r3(pct(openLoop.latencies, 50)),
        'http.open_loop.ack_latency_ms.p99': r3(pct(openLoop.latencies, 99)),
        'http.open_loop.ack_latency_ms.max': r3(Math.max(...openLoop.latencies)),
        'http.open_loop.send_late_ms.max': r3(openLoop.maxLateMs),
        'http.senders.cpu_cores': r3(senderCores),
        'http.warmup.posts': WARMUP_POSTS,
        'http.warmup.ack_latency_ms.max': r3(Math.max(...warmLatencies)),
        'http.rss_mib.peak': r3(mem.rssPeakMiB),
        'http.js_heap_used_mib.peak': r3(mem.heapPeakMiB),
        'http.non_heap_mib.at_heap_peak': r3(mem.nonHeapAtHeapPeakMiB),
        'http.dead_letters': dead,
        ...cpu,
        ...engine.figures,
        ...writes,
      }
    } finally {
      await killHard(gw)
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
