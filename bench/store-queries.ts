/**
 * Queries and start-up on a large store (bench/store-gen.ts: 10M events over 30 days, 10k customers; the
 * quick run 1M): `gatewarden start` on that store (time until listening and detection restored), then
 * `GET /api/cost` p50 for one customer's month by model and endpoint and for all customers' top 20, over
 * whole hours and over an unaligned range (37 s past an hour to 23 s before one), then the ack latency of
 * small LiteLLM POSTs alone and while two loops hammer the slowest cost query.
 *
 * The ack phase adds its events (a few thousand, fresh ids) to the cached store; `store.events` counts
 * what the store held when the queries ran.
 *
 * `node dist/bench/store-queries.js [--quick] [--events N]` runs it alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import type { BenchFigures, BenchOptions, BenchPart } from './part.js'
import { ensureBenchStore, BENCH_CUSTOMERS } from './store-gen.js'
import { trafficPayloads } from './traffic.js'
import { postIngest } from './workload.js'
import {
  spawnGatewarden,
  stopGracefully,
  type GatewardenProcess,
} from '../test/support/gatewarden-process.js'

const pct = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}
const round = (x: number) => Math.round(x * 10) / 10
const iso = (ms: number) => new Date(ms).toISOString()

/** Waits (bounded) for a JSON log line with `msg` among the child's lines. */
async function logLine(
  gw: GatewardenProcess,
  msg: string,
  timeoutMs = 120_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (const l of gw.lines) {
      if (!l.includes(msg)) continue
      const rec = JSON.parse(l) as Record<string, unknown>
      if (rec.msg === msg) return rec
    }
    if (Date.now() > deadline) throw new Error(`no '${msg}' log line in ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function getJson(url: string): Promise<{ rows: Array<Record<string, unknown>>; source: string }> {
  const res = await fetch(url)
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as { rows: Array<Record<string, unknown>>; source: string }
}

/** p50 of `runs` calls of `url(i)` after `warm` unmeasured ones. */
async function timeQuery(url: (i: number) => string, runs: number, warm = 3): Promise<number> {
  const ms: number[] = []
  for (let i = 0; i < warm + runs; i++) {
    const t = performance.now()
    await getJson(url(i))
    if (i >= warm) ms.push(performance.now() - t)
  }
  return round(pct(ms, 50))
}

/** Ack latency (ms) of `posts` sequential POSTs of `batch` LiteLLM events. */
async function acks(gw: GatewardenProcess, prefix: string, posts: number, batch: number): Promise<number[]> {
  const payloads = [
    ...trafficPayloads({
      events: posts * batch,
      seed: 7,
      start: Date.now() - 120_000,
      spanMs: 60_000,
      incidents: false,
      idPrefix: prefix,
    }),
  ]
  const out: number[] = []
  for (let i = 0; i < posts; i++)
    out.push(await postIngest(gw.url, JSON.stringify(payloads.slice(i * batch, (i + 1) * batch))))
  return out
}

export async function runStoreQueries(
  opts: BenchOptions & { events?: number; posts?: number; fullStartup?: boolean },
): Promise<BenchFigures> {
  const events = opts.events ?? (opts.quick ? 1_000_000 : 10_000_000)
  const store = await ensureBenchStore(events, (l) => opts.log(l))
  opts.log(
    `store of ${store.events} events (${store.cached ? 'cached' : `generated in ${store.generateMs} ms`}), ${iso(store.fromMs)}..${iso(store.toMs)}`,
  )
  const figures: BenchFigures = {}
  const work = mkdtempSync(join(tmpdir(), 'gw-bench-store-'))
  // start-up with the spend anomaly detector (its hourly read of spend_by_hour) is measured apart
  // (startup.ms), after a start-up without it (the queries run on that one)
  const noAnomaly = join(work, 'no-spend-anomaly.yaml')
  writeFileSync(noAnomaly, 'detectors:\n  spend_anomaly:\n    enabled: false\n')
  const env = { GATEWARDEN_DATA_DIR: store.dataDir, CLICKHOUSE_DATABASE: store.database, LOG_LEVEL: 'info' }
  const t0 = performance.now()
  const gw = await spawnGatewarden({ ...env, GATEWARDEN_CONFIG: noAnomaly }, 180_000)
  try {
    const restored = await logLine(gw, 'detection restored')
    figures['startup.without_spend_anomaly_ms'] = Math.round(performance.now() - t0)
    figures['startup.replayed_events'] = Number(restored.replayedEvents ?? NaN)

    const base = `${gw.url}/api/cost`
    const aligned = { from: iso(store.fromMs), to: iso(store.toMs) }
    const unaligned = { from: iso(store.fromMs + 37_000), to: iso(store.toMs - 23_000) }
    const customer = (i: number) => `cust-${(i * 7919) % BENCH_CUSTOMERS}`
    const one = (r: { from: string; to: string }) => (i: number) =>
      `${base}?group_by=model,endpoint&customer=${customer(i)}&from=${r.from}&to=${r.to}`
    const top = (r: { from: string; to: string }) => () =>
      `${base}?group_by=customer&limit=20&from=${r.from}&to=${r.to}`
    const all = await getJson(`${base}?group_by=model&from=${aligned.from}&to=${aligned.to}`)
    figures['store.events'] = all.rows.reduce((a, r) => a + Number(r.requests), 0)
    const runs = opts.quick ? 10 : 30
    figures['query.customer_month.p50_ms'] = await timeQuery(one(aligned), runs)
    figures['query.top20_customers_month.p50_ms'] = await timeQuery(top(aligned), runs)
    figures['query.customer_unaligned.p50_ms'] = await timeQuery(one(unaligned), runs)
    figures['query.top20_unaligned.p50_ms'] = await timeQuery(top(unaligned), runs)
    opts.log(
      `queries p50: customer month ${figures['query.customer_month.p50_ms']} ms, top 20 ${figures['query.top20_customers_month.p50_ms']} ms, unaligned ${figures['query.customer_unaligned.p50_ms']} / ${figures['query.top20_unaligned.p50_ms']} ms`,
    )

    // ack latency of inserts: alone, then while two loops hammer the all-customer unaligned query
    const posts = opts.posts ?? (opts.quick ? 20 : 60)
    const run = `bq${Date.now()}`
    const quiet = await acks(gw, `${run}-q`, posts, 64)
    let hammering = true
    let hammered = 0
    const hammer = async () => {
      while (hammering) {
        await getJson(top(unaligned)())
        hammered++
      }
    }
    const loops = [hammer(), hammer()]
    const loaded = await acks(gw, `${run}-l`, posts, 64)
    hammering = false
    await Promise.all(loops)
    figures['query.ingest_ack_p50_ms_quiet'] = round(pct(quiet, 50))
    figures['query.ingest_ack_p99_ms_quiet'] = round(pct(quiet, 99))
    figures['query.ingest_ack_p50_ms_while_querying'] = round(pct(loaded, 50))
    figures['query.ingest_ack_p99_ms_while_querying'] = round(pct(loaded, 99))
    figures['query.cost_queries_during_acks'] = hammered
    figures['query.note'] =
      `${store.events} generated events${opts.quick ? ' (quick run: fewer than the 10M target)' : ''}; acks are POSTs of 64 LiteLLM events`
  } finally {
    await stopGracefully(gw)
  }
  // start-up as configured by default (all four detectors)
  if (opts.fullStartup === false) {
    rmSync(work, { recursive: true, force: true })
    return figures
  }
  const limit = opts.quick ? 120_000 : 300_000
  const t1 = performance.now()
  try {
    const full = await spawnGatewarden(env, limit)
    try {
      const fullRestore = await logLine(full, 'detection restored', limit)
      figures['startup.ms'] = Math.round(performance.now() - t1)
      figures['startup.with_spend_anomaly.replayed_events'] = Number(fullRestore.replayedEvents ?? NaN)
      // the spend anomaly window from the minute rollup: scope values restored from their minute sums
      figures['startup.with_spend_anomaly.spend_series'] = Number(fullRestore.spendSeries ?? NaN)
      // the spend anomaly baselines' first hourly read, in the background after start-up
      const read = await logLine(full, 'spend history read', limit)
      figures['startup.spend_history_read_ms'] = Number(read.ms ?? NaN)
      figures['startup.spend_history_series'] = Number(read.series ?? NaN)
    } finally {
      await stopGracefully(full)
    }
  } catch (err) {
    figures['startup.ms'] = -1
    figures['startup.note'] = `not started within ${limit} ms: ${(err as Error).message.split('\n')[0]}`
  }
  rmSync(work, { recursive: true, force: true })
  return figures
}

export const storeQueries: BenchPart = {
  name: 'query',
  run: (opts) => runStoreQueries(opts),
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      events: { type: 'string' },
      posts: { type: 'string' },
      'no-full-startup': { type: 'boolean', default: false },
    },
  })
  const figures = await runStoreQueries({
    quick: values.quick ?? false,
    ...(values.events ? { events: Number(values.events) } : {}),
    ...(values.posts ? { posts: Number(values.posts) } : {}),
    fullStartup: !values['no-full-startup'],
    log: (l) => process.stdout.write(`query: ${l}\n`),
  })
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
}
