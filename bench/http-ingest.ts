/**
 * HTTP ingest part: LiteLLM `generic_api` batches (JSON arrays of 512 payloads of bench/traffic.ts, ~4.6
 * KB each) POSTed to `/ingest/litellm` of a real `gatewarden start` child process (embedded store, the
 * default config: all detectors on) by 4 parallel senders, each waiting for its answer (sent after the
 * batch is committed), until `/api/cost` counts every event.
 *
 * The first POSTs of a fresh process are its slowest (JIT, the parse worker's first payloads, the store's
 * first parts): 664-924 ms for the first 4 POSTs of a quick run against 180-420 ms after, so with ~200
 * POSTs they alone made the p99. `WARMUP_POSTS` POSTs of other events go first; their acks are reported
 * apart (`http.warmup.ack_latency_ms.max`) and every other figure starts after them.
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
  r3,
  watchCpu,
  watchMemory,
  benchStoreConfig,
} from './workload.js'

const BATCH = 512
const CONCURRENCY = 4
const WARMUP_POSTS = 8

/** The POST bodies of `payloads`: JSON arrays of `BATCH`. */
function posts(payloads: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < payloads.length; i += BATCH) out.push(jsonArray(payloads.slice(i, i + BATCH)))
  return out
}

/** POSTs `bodies` from `CONCURRENCY` senders, each waiting for its answer; the ack latency of each. */
async function send(url: string, bodies: readonly string[]): Promise<number[]> {
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
    const bytes = bodies.reduce((a, b) => a + Buffer.byteLength(b), 0)

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
      const latencies = await send(gw.url, bodies)
      const acked = performance.now() - t0
      const counted = (await waitCounted(gw.url, events + warm.length, 120_000)) - warm.length
      const secs = (performance.now() - t0) / 1000
      const cpu = cpuWatch.stop('http', events, secs * 1000)
      const engine = engineTime('http', statementsBefore, await storeStatements(gw.url), secs)
      const mem = await memory.stop()
      const dead = await deadLetters(gw.url)
      const writes = await storeWrites(gw.url, 'http')
      if (counted !== events) throw new Error(`counted ${counted} of ${events} events`)
      // a profiled child is stopped gracefully: V8 writes its profiles as it exits
      if (opts.profileDir) await stopGracefully(gw)
      const profiles = opts.profileDir ? profileLines(opts.profileDir) : []
      const rate = events / secs
      log(
        `${events} events (~${Math.round(bytes / events)} B each), ${bodies.length} POSTs of ${BATCH} after ${WARMUP_POSTS} warm-up POSTs (slowest ack ${Math.max(...warmLatencies).toFixed(0)} ms), concurrency ${CONCURRENCY}: ${Math.round(rate)} events/s end to end (${secs.toFixed(2)} s; all acked at ${(acked / 1000).toFixed(2)} s)`,
      )
      log(
        `ack latency p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms; peak RSS ${mem.rssPeakMiB.toFixed(0)} MiB, JS heap peak ${mem.heapPeakMiB.toFixed(0)} MiB; dead letters ${dead}`,
      )
      log(cpuLine('http', cpu))
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
