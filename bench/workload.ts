/**
 * What the ingest parts of the benchmark share: the traffic they send (bench/traffic.ts, the same
 * payloads in every part of one run), the store's raw insert ceiling, and how they watch a Gatewarden.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { Agent, request } from 'node:http'
import { createStoreClient } from '../adapters/clickhouse/client.js'
import { migrate } from '../adapters/clickhouse/migrate.js'
import { insertRequestRows, insertRequests } from '../adapters/clickhouse/requests-table.js'
import { mapLiteLLMPayload, type MapperOptions } from '../core/ingest/litellm/mapper.js'
import { AttributionConfig, PrivacyConfig, StoreConfig } from '../schemas/config.js'
import type { EventSource, RequestEvent } from '../schemas/request-event.js'
import type { GatewardenProcess } from '../test/support/gatewarden-process.js'
import { silentLog } from '../test/support/store.js'
import { waitFor } from '../test/support/wait.js'
import type { TrafficOptions } from './traffic.js'

const MIN = 60_000

/**
 * The run's reference instant: `bench/run.ts` sets `GW_BENCH_T0` once for all its parts, so that every
 * part generates byte for byte the same payloads (the parse ceiling parses what HTTP and Kafka send).
 */
export function benchT0(): number {
  const t = Number(process.env.GW_BENCH_T0)
  return Number.isFinite(t) && t > 0 ? t : Date.now()
}

/** Events of the ingest parts (HTTP, Kafka, the parse and store ceilings). */
export const ingestEvents = (quick: boolean): number => (quick ? 20_000 : 100_000)

/**
 * The ingest parts' traffic: clean (no planted incident), over the 30 minutes before the run started,
 * so that the live detectors see current events (agents work only Mon-Fri 08:00-19:00 UTC: outside
 * those hours the mix has no agent traffic).
 */
export function ingestTraffic(quick: boolean): TrafficOptions {
  const t0 = benchT0()
  return {
    events: ingestEvents(quick),
    seed: 10,
    start: t0 - 30 * MIN,
    spanMs: 30 * MIN,
    incidents: false,
    idPrefix: 'bench',
  }
}

/** The time range `/api/cost` is asked over to count the ingest traffic. */
export function ingestRange(): { from: string; to: string } {
  const t0 = benchT0()
  return { from: new Date(t0 - 2 * 60 * MIN).toISOString(), to: new Date(t0 + 2 * 60 * MIN).toISOString() }
}

/** Requests counted by `GET /api/cost` over the range (grouped by model: a handful of rows). */
export async function countedEvents(url: string, range = ingestRange()): Promise<number> {
  const res = await fetch(
    `${url}/api/cost?group_by=model&from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}&limit=1000`,
  )
  if (res.status !== 200) throw new Error(`/api/cost answered ${res.status}: ${await res.text()}`)
  const body = (await res.json()) as { rows: Array<{ requests: number }> }
  return body.rows.reduce((a, r) => a + r.requests, 0)
}

/**
 * Waits until `/api/cost` counts `events` events and returns what it counts. The child's
 * `gatewarden_events_accepted` counter (incremented once a batch is committed) is watched first on
 * `/metrics` every 200 ms, which costs the child no engine read; `/api/cost` is then asked every 100 ms
 * until it counts them all. (Every 50 ms, the Prometheus serialisation of each scrape was ~7% of the
 * main thread's time in a profiled quick Kafka run, where the whole run is spent waiting here; 200 ms adds
 * at most 0.2 s to a run's measured end.) (Asking `/api/cost` every 100 ms all along put an engine query every 100 ms
 * into the process measured; an A/B of quick Kafka runs showed no difference in rate beyond noise.)
 */
export async function waitCounted(url: string, events: number, timeoutMs: number): Promise<number> {
  let accepted = 0
  let counted = 0
  await waitFor(
    () => `${events} events accepted (${accepted} so far)`,
    async () => {
      const text = await (await fetch(`${url}/metrics`)).text()
      accepted = promSum(text, 'gatewarden_events_accepted_total')
      return accepted >= events
    },
    timeoutMs,
    200,
  )
  await waitFor(
    () => `${events} events counted by /api/cost (${counted} so far)`,
    async () => (counted = await countedEvents(url)) >= events,
    timeoutMs,
    100,
  )
  return counted
}

/** Dead letters stored so far (up to 1000). */
export async function deadLetters(url: string): Promise<number> {
  const res = await fetch(`${url}/api/dead-letters?limit=1000`)
  return ((await res.json()) as { dead_letters: unknown[] }).dead_letters.length
}

/**
 * The sum over every label set of one Prometheus sample name (`name{...} value` lines), or over the label
 * sets holding `label` (e.g. `how="skipped"`); NaN when none.
 */
export function promSum(text: string, name: string, label?: string): number {
  let sum = NaN
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== '{' && rest[0] !== ' ') continue
    if (label !== undefined && (rest[0] !== '{' || !rest.slice(0, rest.indexOf('}')).includes(label)))
      continue
    const v = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (Number.isFinite(v)) sum = (Number.isNaN(sum) ? 0 : sum) + v
  }
  return sum
}

/** The `store` part of a bench child's config; `GW_BENCH_DEDUPE_FILTER_MIB=0` runs it without the filter of stored ids (an A/B). */
export function benchStoreConfig(dataDir: string): { data_dir: string; dedupe_filter_mib?: number } {
  const filterMiB = process.env.GW_BENCH_DEDUPE_FILTER_MIB
  return { data_dir: dataDir, ...(filterMiB ? { dedupe_filter_mib: Number(filterMiB) } : {}) }
}

/**
 * The writer's batches so far, from the child's `/metrics`: how many, their mean rows and their mean
 * store time (dedupe lookup + insert), and how the duplicate lookups went (the filter of stored ids: every
 * id asked of the store, some, none), as `${prefix}.store.*` figures.
 */
export async function storeWrites(url: string, prefix: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const batches = promSum(text, 'gatewarden_batch_rows_count')
  const rows = promSum(text, 'gatewarden_batch_rows_sum')
  const secs = promSum(text, 'gatewarden_store_write_seconds_sum')
  // a counter with no such lookup yet has no sample: 0
  const lookups = (how: string) => promSum(text, 'gatewarden_dedupe_lookups_total', `how="${how}"`) || 0
  return {
    [`${prefix}.store.batches`]: batches,
    [`${prefix}.store.rows_per_batch.mean`]: Math.round(rows / batches),
    [`${prefix}.store.write_ms_per_batch.mean`]: r3((secs * 1000) / batches),
    [`${prefix}.store.dedupe_lookups.store`]: lookups('store'),
    [`${prefix}.store.dedupe_lookups.narrowed`]: lookups('narrowed'),
    [`${prefix}.store.dedupe_lookups.skipped`]: lookups('skipped'),
    [`${prefix}.store.dedupe_ids_asked`]: promSum(text, 'gatewarden_dedupe_ids_asked_total'),
  }
}

/** Engine time by statement label (`lane statement`): how many and seconds held, from `/metrics`. */
export type StatementTotals = Map<string, { n: number; s: number }>

/** The embedded engine's statements so far (`gatewarden_store_statement_seconds`), and wait by lane. */
export async function storeStatements(
  url: string,
): Promise<{ run: StatementTotals; waitS: Map<string, number> }> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const run: StatementTotals = new Map()
  const waitS = new Map<string, number>()
  const attrs = (s: string): Record<string, string> =>
    Object.fromEntries([...s.matchAll(/(\w+)="([^"]*)"/g)].map((m): [string, string] => [m[1]!, m[2]!]))
  for (const line of text.split('\n')) {
    const m = /^(gatewarden_store_(?:statement|wait)_seconds)_(sum|count)\{([^}]*)\} (\S+)$/.exec(line)
    if (!m) continue
    const a = attrs(m[3]!)
    const v = Number(m[4])
    if (m[1] === 'gatewarden_store_wait_seconds') {
      const lane = a.lane ?? ''
      if (m[2] === 'sum') waitS.set(lane, (waitS.get(lane) ?? 0) + v)
      continue
    }
    const key = `${a.lane} ${a.statement}`
    const t = run.get(key) ?? { n: 0, s: 0 }
    if (m[2] === 'sum') t.s += v
    else t.n += v
    run.set(key, t)
  }
  return { run, waitS }
}

/**
 * Where the engine's single session spent a measured window (`after` minus `before`): the busiest
 * statements with their count and mean ms, as one log line, and `${prefix}.engine.*` figures: busy
 * seconds per second of the window, and the time store statements waited.
 */
export function engineTime(
  prefix: string,
  before: Awaited<ReturnType<typeof storeStatements>>,
  after: Awaited<ReturnType<typeof storeStatements>>,
  windowS: number,
): { line: string; figures: Record<string, number> } {
  const rows: Array<{ key: string; n: number; s: number }> = []
  for (const [key, t] of after.run) {
    const b = before.run.get(key) ?? { n: 0, s: 0 }
    if (t.n - b.n > 0) rows.push({ key, n: t.n - b.n, s: t.s - b.s })
  }
  rows.sort((x, y) => y.s - x.s)
  const busyS = rows.reduce((a, r) => a + r.s, 0)
  const storeWaitS = (after.waitS.get('store') ?? 0) - (before.waitS.get('store') ?? 0)
  const top = rows
    .slice(0, 6)
    .map((r) => `${r.key} ${r.n}x ${((r.s * 1000) / r.n).toFixed(1)} ms (${r.s.toFixed(2)} s)`)
  return {
    line: `engine busy ${busyS.toFixed(2)} s of ${windowS.toFixed(2)} s; store statements waited ${storeWaitS.toFixed(2)} s; by time: ${top.join(', ')}`,
    figures: {
      [`${prefix}.engine.busy_s_per_s`]: r3(busyS / windowS),
      [`${prefix}.engine.store_wait_s`]: r3(storeWaitS),
      [`${prefix}.engine.statements`]: rows.reduce((a, r) => a + r.n, 0),
    },
  }
}

/** `VmHWM` / `VmRSS` of a process, MiB (NaN once it is gone). */
export function procMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024
  } catch {
    return NaN
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on every Linux this runs on). */
const USER_HZ = 100

/** CPU time (ms, user + system) of each thread of `pid` so far, by OS thread id, from /proc (Linux). */
export function threadCpu(pid: number): Map<number, { comm: string; ms: number }> {
  const out = new Map<number, { comm: string; ms: number }>()
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      // comm is in parentheses and may hold spaces; utime and stime are fields 14 and 15
      const close = stat.lastIndexOf(')')
      const rest = stat.slice(close + 2).split(' ')
      const ticks = Number(rest[11]) + Number(rest[12])
      out.set(Number(tid), { comm: stat.slice(stat.indexOf('(') + 1, close), ms: (ticks * 1000) / USER_HZ })
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out
}

/** OS thread ids of the parse workers of a Gatewarden child, from its `parse worker started` log lines. */
export function parseWorkerTids(lines: readonly string[]): Set<number> {
  const tids = new Set<number>()
  for (const line of lines) {
    if (!line.includes('parse worker started')) continue
    const tid = (JSON.parse(line) as { tid?: unknown }).tid
    if (typeof tid === 'number') tids.add(tid)
  }
  return tids
}

/** The name the embedded engine gives its background merge threads (ClickHouse's merge executor). */
const ENGINE_MERGE_THREAD = 'MergeMutate'

/**
 * Where a Gatewarden child's CPU went between two `threadCpu` samples, in microseconds per event:
 * `main` (the event loop: HTTP, detection, the writer's JS), `parse_workers`, `engine` (the embedded
 * ClickHouse's own named threads: query pipelines, merges), `engine_merges` (the part of `engine` spent in
 * its background merge threads, named `MergeMutate`), `node_runtime` (the other threads Node names
 * `node`: V8's GC and compiler helpers and libuv's pool, where the engine's native calls also run), and
 * `total`; `cores` is the CPU used over `wallMs`. Empty where /proc is not there.
 */
export function cpuPerEvent(
  prefix: string,
  before: ReadonlyMap<number, { ms: number }>,
  after: ReadonlyMap<number, { comm: string; ms: number }>,
  pid: number,
  workers: ReadonlySet<number>,
  events: number,
  wallMs: number,
): Record<string, number> {
  if (after.size === 0) return {}
  const ms = { main: 0, parse_workers: 0, engine: 0, node_runtime: 0 }
  let merges = 0
  for (const [tid, t] of after) {
    const d = t.ms - (before.get(tid)?.ms ?? 0)
    if (tid === pid) ms.main += d
    else if (workers.has(tid)) ms.parse_workers += d
    else if (t.comm === 'node') ms.node_runtime += d
    else {
      ms.engine += d
      if (t.comm === ENGINE_MERGE_THREAD) merges += d
    }
  }
  const total = ms.main + ms.parse_workers + ms.engine + ms.node_runtime
  const us = (x: number) => r3((x * 1000) / events)
  return {
    [`${prefix}.cpu_us_per_event.total`]: us(total),
    [`${prefix}.cpu_us_per_event.main`]: us(ms.main),
    [`${prefix}.cpu_us_per_event.parse_workers`]: us(ms.parse_workers),
    [`${prefix}.cpu_us_per_event.engine`]: us(ms.engine),
    [`${prefix}.cpu_us_per_event.engine_merges`]: us(merges),
    [`${prefix}.cpu_us_per_event.node_runtime`]: us(ms.node_runtime),
    [`${prefix}.cpu_cores_used`]: r3(total / wallMs),
  }
}

/**
 * Samples a Gatewarden child's threads now; `stop` gives the `cpuPerEvent` figures since (`events` over
 * `wallMs`), the parse workers told apart by the child's log lines.
 */
export function watchCpu(gw: GatewardenProcess): {
  stop(prefix: string, events: number, wallMs: number): Record<string, number>
} {
  const pid = gw.child.pid!
  const before = threadCpu(pid)
  return {
    stop: (prefix, events, wallMs) =>
      cpuPerEvent(prefix, before, threadCpu(pid), pid, parseWorkerTids(gw.lines), events, wallMs),
  }
}

/** One line for the log: the `cpuPerEvent` figures of `prefix`. */
export function cpuLine(prefix: string, f: Record<string, number>): string {
  const k = `${prefix}.cpu_us_per_event.`
  if (f[`${k}total`] === undefined) return 'CPU per event: not measured (no /proc)'
  return `CPU per event ${f[`${k}total`]} us (main ${f[`${k}main`]}, parse workers ${f[`${k}parse_workers`]}, engine threads ${f[`${k}engine`]} (merges ${f[`${k}engine_merges`]}), node runtime ${f[`${k}node_runtime`]}); ${f[`${prefix}.cpu_cores_used`]} cores in use`
}

/** The JS heap in use (MiB, all spaces) from Gatewarden's `/metrics` (`v8js_memory_heap_used*`). */
export async function heapUsedMiB(url: string): Promise<number> {
  return promSum(await (await fetch(`${url}/metrics`)).text(), 'v8js_memory_heap_used') / 1048576
}

/** Peak memory of a Gatewarden child: RSS (VmHWM) and its JS heap, sampled every `everyMs` from `/metrics`. */
export interface MemoryWatch {
  /** Stops sampling; the peaks so far (the RSS peak from VmHWM, exact; the heap's at the samples). */
  stop(): Promise<{ rssPeakMiB: number; heapPeakMiB: number; nonHeapAtHeapPeakMiB: number }>
}

export function watchMemory(pid: number, url: string, everyMs = 500): MemoryWatch {
  let heapPeak = NaN
  let nonHeap = NaN
  let running = true
  const sample = async () => {
    const heap = await heapUsedMiB(url).catch(() => NaN)
    const rss = procMiB(pid, 'VmRSS')
    if (Number.isFinite(heap) && !(heap <= heapPeak)) {
      heapPeak = heap
      nonHeap = rss - heap
    }
  }
  const loop = (async () => {
    while (running) {
      await sample()
      await new Promise((r) => setTimeout(r, everyMs))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      await sample()
      return { rssPeakMiB: procMiB(pid, 'VmHWM'), heapPeakMiB: heapPeak, nonHeapAtHeapPeakMiB: nonHeap }
    },
  }
}

/** p-th percentile (nearest rank) of `xs`. */
export const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}

/** Rounds a figure for the results (3 decimals). */
export const r3 = (x: number): number => Math.round(x * 1000) / 1000

/** The mapper options of the bench's in-process stages: the default attribution and privacy config. */
export function benchMapper(source: EventSource = 'litellm_http'): MapperOptions {
  return {
    source,
    gateway: 'litellm',
    attribution: AttributionConfig.parse({}),
    privacy: PrivacyConfig.parse({}),
  }
}

/**
 * The store's ceiling: rows/s of the embedded engine inserting the same payloads, pre-mapped,
 * in-process, in batches of 10,000 (no HTTP, no Kafka, no parsing), on a fresh data directory; `via`
 * the store's fastest insert (`insertRequestRows`: RowBinary staged in the data directory) or JSONEachRow
 * (`insertRequests`).
 */
export async function storeCeiling(
  payloads: Record<string, unknown>[],
  source: EventSource,
  via: 'rows' | 'json' = 'rows',
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-ceiling-'))
  const store = createStoreClient(StoreConfig.parse({ data_dir: dir, database: 'bench_ceiling' }))
  await migrate(store, silentLog)
  const opts = benchMapper(source)
  const rows = payloads.map((p) => (mapLiteLLMPayload(p, opts) as { ok: true; event: RequestEvent }).event)
  const t = performance.now()
  for (let i = 0; i < rows.length; i += 10_000) {
    const batch = rows.slice(i, i + 10_000)
    if (via === 'rows') await insertRequestRows(store, batch, randomUUID())
    else await insertRequests(store.client, store.database, batch, randomUUID())
  }
  const secs = (performance.now() - t) / 1000
  await store.client.close()
  rmSync(dir, { recursive: true, force: true })
  return rows.length / secs
}

/**
 * Keeps the senders' connections open between POSTs, as a gateway's HTTP client does. node:http, not
 * fetch: a 2.4 MB POST cost the sender 3.4-4.5 ms of CPU through fetch against 1.5-1.7 through
 * `http.request` (one-off script, 200 POSTs from 16 senders to a server that discards them), CPU taken from
 * the two cores the Gatewarden under test runs on.
 */
const SENDERS = new Agent({ keepAlive: true })
/** How long a POST may go without an answer (socket idle) before the sender gives up. */
const POST_TIMEOUT_MS = 300_000

/** POSTs one LiteLLM batch to `/ingest/litellm`; the ack latency (ms). Rejects on an answer other than 200. */
export function postIngest(url: string, body: string | Uint8Array): Promise<number> {
  const t = performance.now()
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/ingest/litellm`,
      {
        method: 'POST',
        agent: SENDERS,
        headers: { 'content-type': 'application/json', 'content-length': bytes.length },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          if (res.statusCode === 200) resolve(performance.now() - t)
          else reject(new Error(`POST answered ${res.statusCode}: ${Buffer.concat(chunks).toString()}`))
        })
      },
    )
    req.on('error', reject)
    // a Gatewarden that never answers fails the part instead of hanging the bench
    req.setTimeout(POST_TIMEOUT_MS, () =>
      req.destroy(new Error(`no answer to a POST in ${POST_TIMEOUT_MS / 1000} s`)),
    )
    req.end(bytes)
  })
}

/**
 * POSTs `bodies` (of `batch` events each) to `/ingest/litellm` on a fixed schedule, `eventsPerS` events a
 * second (POST i at i x batch / eventsPerS ms), each at its time whatever the answers before it (an open
 * loop); the ack latency of each (from when it was sent), how long after the first the last was sent, and
 * the most a POST went out after its time (a sender short of CPU sends late, which would shorten the
 * latencies measured without showing).
 */
export async function sendOpenLoop(
  url: string,
  bodies: readonly (string | Uint8Array)[],
  batch: number,
  eventsPerS: number,
): Promise<{ latencies: number[]; sentSpanMs: number; maxLateMs: number }> {
  const gapMs = (batch / eventsPerS) * 1000
  const t0 = performance.now()
  let lastSent = t0
  let maxLateMs = 0
  const answers = bodies.map(async (body, i) => {
    const due = t0 + i * gapMs
    // a timer may fire early by the event loop's stale clock: wait again until it is due
    for (let wait = due - performance.now(); wait > 0; wait = due - performance.now())
      await new Promise((r) => setTimeout(r, wait))
    const now = performance.now()
    lastSent = Math.max(lastSent, now)
    maxLateMs = Math.max(maxLateMs, now - due)
    return postIngest(url, body)
  })
  const latencies = await Promise.all(answers)
  return { latencies, sentSpanMs: lastSent - t0, maxLateMs }
}
