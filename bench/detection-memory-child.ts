/**
 * Child process of `bench/detection-memory.ts` (run with `--expose-gc`): opens Gatewarden with its
 * embedded store (`start()` on a temp dir: the engine inside, as in production), then feeds N distinct
 * active fingerprints through the loop detector (default config: scopes key and trace, so 2 entries per
 * fingerprint; all N within one window, none idle, none evicted) and prints one JSON line of figures.
 * Usage: node --expose-gc dist/bench/detection-memory-child.js [--fingerprints 1000000]
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { initLoopState, stepLoop } from '../core/detectors/loop.js'
import { Config } from '../schemas/config.js'
import { DetectorsConfig } from '../schemas/policy.js'
import { eventDefaults, type RequestEvent } from '../schemas/request-event.js'
import { start } from '../services/start.js'
import { silentLog } from '../test/support/store.js'

const { values } = parseArgs({ options: { fingerprints: { type: 'string', default: '1000000' } } })
const N = Number(values.fingerprints)
const MiB = 1024 * 1024
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined)
const peakMiB = () =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024
const hex = (s: string) => createHash('sha256').update(s).digest('hex')

const dir = mkdtempSync(join(tmpdir(), 'gw-bench-detect-mem-'))
try {
  const gw = await start(
    Config.parse({ server: { port: 0 }, store: { data_dir: dir, database: 'bench_detect_mem' } }),
    silentLog,
  )
  try {
    // 10k keys (64-hex hashes, as the mappers store them), traces of ~10 requests, one prompt each
    const keys = Array.from({ length: 10_000 }, (_, i) => hex(`key-${i}`))
    const cfg = DetectorsConfig.parse({}).loop
    const T0 = Date.parse('2026-11-26T12:00:00Z')
    const base: RequestEvent = {
      ...eventDefaults(),
      event_id: '',
      ts: 0,
      end_ts: 0,
      duration_ms: 0,
      source: 'litellm_http',
      model: 'gpt-4o',
      http_status: 200,
    }
    gc()
    const before = process.memoryUsage()
    let state = initLoopState()
    const t0 = performance.now()
    for (let i = 0; i < N; i++) {
      // every fingerprint active: all N inside one loop window (60 s by default)
      const ts = T0 + Math.floor((i * 50_000) / N)
      const e: RequestEvent = {
        ...base,
        event_id: `m${i}`,
        ts,
        end_ts: ts,
        api_key_hash: keys[i % keys.length]!,
        trace_id: `trace-${Math.floor(i / 10)}`,
        fingerprint: hex(`prompt-${i}`),
        cost_usd: 0.001,
      }
      state = stepLoop(state, e, cfg, ts).state
    }
    const feedMs = performance.now() - t0
    gc()
    const after = process.memoryUsage()
    const entries = state.entries.size
    const heapDelta = after.heapUsed - before.heapUsed
    const figures = {
      fingerprints: N,
      entries,
      evicted: state.evicted,
      max_entries: cfg.max_entries,
      rss_mib: Math.round(peakMiB()),
      rss_now_mib: Math.round(after.rss / MiB),
      heap_used_mib: Math.round(after.heapUsed / MiB),
      heap_total_mib: Math.round(after.heapTotal / MiB),
      external_mib: Math.round(after.external / MiB),
      array_buffers_mib: Math.round(after.arrayBuffers / MiB),
      // what is neither JS heap nor external: the engine (chdb), code, stacks, allocator slack
      other_rss_mib: Math.round((after.rss - after.heapTotal - after.external) / MiB),
      baseline_rss_mib: Math.round(before.rss / MiB),
      baseline_heap_used_mib: Math.round(before.heapUsed / MiB),
      loop_state_heap_mib: Math.round(heapDelta / MiB),
      bytes_per_fingerprint: Math.round(heapDelta / N),
      bytes_per_entry: Math.round(heapDelta / entries),
      feed_events_per_s: Math.round(N / (feedMs / 1000)),
    }
    process.stdout.write(`${JSON.stringify(figures)}\n`)
    void state
  } finally {
    await gw.stop()
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
