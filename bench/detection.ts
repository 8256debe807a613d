/**
 * Detection benchmark (issue 4, "Done when"):
 * (a) false alerts: a clean synthetic stream of 1,000,000 events through `runDetectors` with the default
 *     detector config and five budgets sized for the traffic; prints events/s (and its ratio to a ceiling
 *     measured in the same run) and the findings, which must be 0;
 * (b) detection latency: a real Gatewarden (`start()` in this process, embedded store in a temp dir)
 *     under steady background traffic on POST /ingest/litellm, with N planted loops (N keys, each sending
 *     one request 6 times, 1 s apart) and N/10 planted zombie agents (each 20 requests 200 ms apart off
 *     business hours: business hours are set to an hour 12 h away from now): arrival of the event that
 *     completes the pattern -> alert stored, per detector type from `engine.latenciesByType()`, and from
 *     the client (the POST that completes it -> the alert visible in GET /api/alerts), p50/p99;
 *     run twice: the default detector config, and the same with tick 1s (events carry the call's start
 *     time, 1.5 s before they arrive: `allowed_lateness` must cover that delay, or the events are late on
 *     arrival and never open an incident);
 * (c) peak RSS of each part (each runs in a child process of its own).
 * Usage: npm run bench:detect [-- --events 1000000 --loops 200 --rate 200] (`--quick`: 140k events over 2 days, 20
 * loops). As a part of `npm run bench`: `bench/detection-part.ts` (each part's figures as a `FIGURES {json}`
 * line with `--json`).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Finding } from '../core/detectors/finding.js'
import { runDetectors } from '../core/detectors/run-detectors.js'
import { Config } from '../schemas/config.js'
import { DetectorsConfig } from '../schemas/policy.js'
import type { RequestEvent } from '../schemas/request-event.js'
import { start } from '../services/start.js'
import { cleanStream, cleanStreamBudgets, type CleanStreamOptions } from '../test/support/clean-stream.js'
import { cleanPayload, prng, variedPrompt } from '../test/support/replay-traffic.js'
import { silentLog } from '../test/support/store.js'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    loops: { type: 'string', default: '200' },
    rate: { type: 'string', default: '200' },
    quick: { type: 'boolean', default: false },
    /** Print each part's figures as one `FIGURES {json}` line too (for `bench/detection-part.ts`). */
    json: { type: 'boolean', default: false },
    /** Internal: which part this child process runs (clean, live-default, live-tick-1s). */
    part: { type: 'string' },
  },
})
const EVENTS = values.quick ? Math.min(140_000, Number(values.events)) : Number(values.events)
const LOOPS = values.quick ? Math.min(20, Number(values.loops)) : Number(values.loops)
const ZOMBIES = Math.max(5, Math.round(LOOPS / 10))
/** Figures of this part, printed as one `FIGURES {json}` line with `--json`. */
const figures: Record<string, number> = {}
const RATE = Number(values.rate)

const pct = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}
/** A measured time. */
const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`)
/** A configured duration (`5s`, `60s`, `2h`). */
const dur = (x: number) =>
  x % 3_600_000 === 0 ? `${x / 3_600_000}h` : x % 1000 === 0 ? `${x / 1000}s` : `${x}ms`
const sleep = (t: number) => new Promise((r) => setTimeout(r, t))

/** Peak RSS of this process (VmHWM): each part runs in its own process (see `main`). */
const peakMiB = () =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024

/** (a) the clean stream through runDetectors; generation and the ceiling's work are timed apart and excluded. */
function falseAlerts(): string[] {
  // quick: the same density (1M events in 14 days) over 2 days, so a small stream is as clean as the big one
  const opts: CleanStreamOptions = values.quick ? { events: EVENTS, days: 2 } : { events: EVENTS }
  const budgets = cleanStreamBudgets(opts)
  const policy = { budgets, detectors: DetectorsConfig.parse({}) }
  const CHUNK = 50_000
  let aside = 0
  let ceilingMs = 0
  let count = 0
  // events in chunks: generating a chunk and the ceiling's pass over it are timed and taken out
  function* chunked(): Generator<RequestEvent> {
    const src = cleanStream(opts)
    for (;;) {
      const t = performance.now()
      const chunk: RequestEvent[] = []
      for (let n = src.next(); !n.done; n = src.next()) if (chunk.push(n.value) === CHUNK) break
      const c = performance.now()
      // ceiling: the least any per-key repeat counter does, one hash-map update per event
      const seen = new Map<string, number>()
      for (const e of chunk) {
        const k = `${e.api_key_hash}\u0000${e.fingerprint}`
        seen.set(k, (seen.get(k) ?? 0) + e.cost_usd)
      }
      const end = performance.now()
      ceilingMs += end - c
      aside += end - t
      count += chunk.length
      if (chunk.length === 0) return
      yield* chunk
    }
  }
  const t0 = performance.now()
  const findings: Finding[] = runDetectors(chunked(), policy)
  const detectMs = performance.now() - t0 - aside
  const rate = count / (detectMs / 1000)
  const ceiling = count / (ceilingMs / 1000)
  figures['detection.clean.events'] = count
  figures['detection.clean.events_per_s'] = Math.round(rate)
  figures['detection.clean.ceiling_events_per_s'] = Math.round(ceiling)
  figures['detection.clean.false_alerts'] = findings.length
  figures['detection.clean.peak_rss_mib'] = Math.round(peakMiB())
  const d = policy.detectors
  const byType = new Map<string, number>()
  for (const f of findings) byType.set(`${f.type} ${f.state}`, (byType.get(`${f.type} ${f.state}`) ?? 0) + 1)
  const lines = [
    `(a) false alerts: ${count.toLocaleString('en-US')} clean events (14 days from Mon 2026-11-02: 5,000 customers (Zipf), 60 agents Mon-Fri 08-19 UTC, unique prompts, 1% errors with retries)`,
    `  detectors: default config (tick ${dur(d.tick)}, allowed_lateness ${dur(d.allowed_lateness)}, loop ${d.loop.threshold} in ${dur(d.loop.window)} per ${d.loop.scope.join('/')}, zombie ${d.zombie.business_hours.days} ${d.zombie.business_hours.from}-${d.zombie.business_hours.to} ${d.zombie.business_hours.timezone}, max_session ${dur(d.zombie.max_session)})`,
    `  budgets (3x the busiest scope's expected spend): ${budgets.map((b) => `${b.name} $${b.limit_usd}`).join(', ')}`,
    `  throughput (runDetectors, generation excluded): ${Math.round(rate).toLocaleString('en-US')} events/s (${(detectMs / 1000).toFixed(1)} s)`,
    `  ceiling (one Map update per event keyed by key+fingerprint, same events, same run): ${Math.round(ceiling).toLocaleString('en-US')} events/s`,
    `  ratio to ceiling: ${(rate / ceiling).toFixed(3)}`,
    `  findings: ${findings.length}${findings.length === 0 ? ' (none: no false alert)' : ` FALSE ALERTS: ${[...byType].map(([k, v]) => `${k} ${v}`).join(', ')}`}`,
    ...findings
      .slice(0, 20)
      .map(
        (f) =>
          `    ${new Date(f.at).toISOString()} ${f.type} ${f.state} ${f.scope.kind}:${f.scope.id} ${f.summary}`,
      ),
    `  peak RSS (process running generator + detectors): ${peakMiB().toFixed(0)} MiB`,
  ]
  return lines
}

type ApiAlert = { type: string; state: string; scope: { kind: string; id: string }; started_at: string }

/** (b) live: background traffic + planted loops into a real Gatewarden; latencies from both sides. */
async function liveLatency(
  dataDir: string,
  label: string,
  detectors: Record<string, unknown>,
): Promise<string[]> {
  // zombies: business hours one hour long, 12 h away from now, so the planted agents work off-hours
  const h = (new Date().getUTCHours() + 12) % 24
  const hh = (x: number) => `${String(x).padStart(2, '0')}:00`
  const [from, to] = h === 23 ? [hh(22), hh(23)] : [hh(h), hh(h + 1)]
  const config = Config.parse({
    server: { port: 0 },
    store: { data_dir: dataDir, database: `bench_detect_${label.replace(/\W/g, '_')}` },
    detectors: { ...detectors, zombie: { business_hours: { days: 'mon-sun', from, to } } },
  })
  const gw = await start(config, silentLog)
  const url = `http://127.0.0.1:${gw.address.port}`
  const rnd = prng(11)
  let seq = 0
  const post = async (payloads: unknown[]) => {
    const res = await fetch(`${url}/ingest/litellm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payloads),
    })
    if (res.status !== 200) throw new Error(`POST answered ${res.status}: ${await res.text()}`)
    await res.arrayBuffer()
  }
  // LiteLLM posts a call after it ended: its start time is ~1.5 s before arrival
  const payload = (o: { key: string; customer: string; trace: string; prompt: string; agent?: string }) =>
    cleanPayload({ id: `${label}-${seq++}`, ts: Date.now() - 1500, cost: 0.002 + rnd() * 0.01, ...o })

  // steady background: RATE events/s in POSTs every 100 ms, 500 customers, unique prompts; POSTs do not
  // wait for the previous answer (a gateway's logger does not either), so the rate holds under load
  let running = true
  let background = 0
  const inFlight = new Set<Promise<void>>()
  let failure: unknown
  const bgStart = Date.now()
  const sender = (async () => {
    const per = Math.max(1, Math.round(RATE / 10))
    for (let next = Date.now(); running; next += 100) {
      const batch = Array.from({ length: per }, () => {
        const c = Math.floor(rnd() * 500)
        return payload({
          key: `bg-${c}-key`,
          customer: `bg-${c}`,
          trace: `bg-${c}-${Math.floor(rnd() * 1e9)}`,
          prompt: variedPrompt(rnd),
        })
      })
      const p = post(batch).then(
        () => void (background += batch.length),
        (err: unknown) => void (failure ??= err),
      )
      inFlight.add(p)
      void p.then(() => inFlight.delete(p))
      await sleep(Math.max(0, next + 100 - Date.now()))
    }
    await Promise.all(inFlight)
  })()
  await sleep(3000)

  // planted loops: loop k starts at k x 150 ms; 6 identical requests 1 s apart, one POST each
  const completed = new Array<number>(LOOPS).fill(NaN)
  const seen = new Array<number>(LOOPS).fill(NaN)
  const loops = Array.from({ length: LOOPS }, async (_, k) => {
    await sleep(k * 150)
    for (let i = 0; i < 6; i++) {
      if (i > 0) await sleep(1000)
      const p = payload({
        key: `loop-key-${k}`,
        customer: `loop-${k}`,
        trace: `loop-${k}-trace`,
        prompt: `Retry the failing step of job ${k % 100} once more`,
      })
      // the 5th repeat completes the loop (threshold 5): its arrival starts the clock
      if (i === 4) completed[k] = Date.now()
      await post([p])
    }
  })
  // planted zombie agents: agent z starts at z x 500 ms; 20 requests (min_requests) 200 ms apart, off-hours
  const zCompleted = new Array<number>(ZOMBIES).fill(NaN)
  const zSeen = new Array<number>(ZOMBIES).fill(NaN)
  const minRequests = config.detectors.zombie.min_requests
  const zombies = Array.from({ length: ZOMBIES }, async (_, z) => {
    await sleep(z * 500)
    for (let i = 0; i < minRequests; i++) {
      if (i > 0) await sleep(200)
      const p = payload({
        key: `zombie-key-${z}`,
        customer: `zombie-${z}`,
        trace: `zombie-${z}-${i}`,
        prompt: `nightly sync ${z} step ${i}`,
        agent: `zombie-agent-${z}`,
      })
      // the min_requests-th request completes the pattern: its arrival starts the clock
      if (i === minRequests - 1) zCompleted[z] = Date.now()
      await post([p])
    }
  })
  let polls = 0
  let other: ApiAlert[] = []
  const poller = (async () => {
    const deadline = Date.now() + LOOPS * 150 + 6000 + 120_000
    while ([...seen, ...zSeen].some((s) => Number.isNaN(s)) && Date.now() < deadline) {
      const res = await fetch(`${url}/api/alerts?limit=10000`)
      const at = Date.now()
      polls++
      const { alerts } = (await res.json()) as { alerts: ApiAlert[] }
      for (const a of alerts) {
        const m = a.type === 'loop' && a.scope.kind === 'key' ? /^loop-key-(\d+)$/.exec(a.scope.id) : null
        if (m && Number.isNaN(seen[Number(m[1])])) seen[Number(m[1])] = at
        const z = a.type === 'zombie_agent' ? /^zombie-agent-(\d+)$/.exec(a.scope.id) : null
        if (z && Number.isNaN(zSeen[Number(z[1])])) zSeen[Number(z[1])] = at
      }
      other = alerts.filter(
        (a) => !(a.type === 'loop' && /^loop-/.test(a.scope.id)) && !/^zombie-agent-/.test(a.scope.id),
      )
      await sleep(100)
    }
  })()
  await Promise.all([...loops, ...zombies])
  await poller
  running = false
  await sender
  const bgSecs = (Date.now() - bgStart) / 1000
  if (failure !== undefined) throw new Error('a background POST failed', { cause: failure })
  const engineLat = [...gw.engine.latencies()]
  const byType = gw.engine.latenciesByType()
  const loopLat = [...(byType.get('loop') ?? [])]
  const zombieLat = [...(byType.get('zombie_agent') ?? [])]
  await gw.stop()

  const client = seen.map((s, k) => s - completed[k]!).filter((x) => Number.isFinite(x))
  const zClient = zSeen.map((s, z) => s - zCompleted[z]!).filter((x) => Number.isFinite(x))
  const cfg = config.detectors
  const put = (name: string, xs: readonly number[]) => {
    figures[`${name}.p50`] = Math.round(pct(xs, 50))
    figures[`${name}.p99`] = Math.round(pct(xs, 99))
  }
  put('detection.loop.latency_ms', loopLat)
  put('detection.zombie.latency_ms', zombieLat)
  put('detection.loop.client_latency_ms', client)
  put('detection.zombie.client_latency_ms', zClient)
  figures['detection.loop.planted'] = LOOPS
  figures['detection.loop.seen'] = client.length
  figures['detection.zombie.planted'] = ZOMBIES
  figures['detection.zombie.seen'] = zClient.length
  figures['detection.live.false_alerts'] = other.length
  figures['detection.live.background_events_per_s'] = Math.round(background / bgSecs)
  figures['detection.live.peak_rss_mib'] = Math.round(peakMiB())
  return [
    `(b) detection latency, ${label}: tick ${dur(cfg.tick)}, allowed_lateness ${dur(cfg.allowed_lateness)}; loop threshold ${cfg.loop.threshold} in ${dur(cfg.loop.window)}`,
    `  traffic: ${background.toLocaleString('en-US')} background events in ${bgSecs.toFixed(0)} s (${Math.round(background / bgSecs)}/s, POSTs every 100 ms) + ${LOOPS} loops (${LOOPS} keys x 6 identical requests 1 s apart, one POST each); each event starts 1.5 s before it is POSTed`,
    `  client side (POST completing the loop sent -> alert in GET /api/alerts, polled every ~100 ms, ${polls} polls): ${client.length}/${LOOPS} seen, p50 ${ms(pct(client, 50))}, p99 ${ms(pct(client, 99))}, max ${ms(Math.max(...client))}`,
    `  + ${ZOMBIES} zombie agents (${minRequests} requests 200 ms apart each, off business hours ${from}-${to} UTC)`,
    `  zombies, client side: ${zClient.length}/${ZOMBIES} seen, p50 ${ms(pct(zClient, 50))}, p99 ${ms(pct(zClient, 99))}`,
    `  engine.latencies() (batch submitted -> alert stored, per batch that produced a firing finding): n=${engineLat.length}, p50 ${ms(pct(engineLat, 50))}, p99 ${ms(pct(engineLat, 99))}`,
    `  by type: loop n=${loopLat.length} p50 ${ms(pct(loopLat, 50))} p99 ${ms(pct(loopLat, 99))}; zombie n=${zombieLat.length} p50 ${ms(pct(zombieLat, 50))} p99 ${ms(pct(zombieLat, 99))}`,
    `  other alerts (false alerts on the background): ${other.length}${other.length ? ` ${JSON.stringify(other.slice(0, 5))}` : ''}`,
    `  peak RSS (process running Gatewarden + embedded store + load generator): ${peakMiB().toFixed(0)} MiB`,
  ]
}

/** Each part runs in a child process of its own, so each peak RSS is that part's alone. */
function runPart(part: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [process.argv[1]!, ...process.argv.slice(2), '--part', part], {
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`part ${part} exited with ${code}`)),
    )
  })
}

async function main(): Promise<void> {
  const print = (lines: string[]) => {
    process.stdout.write(`${lines.join('\n')}\n`)
    if (values.json) process.stdout.write(`FIGURES ${JSON.stringify(figures)}\n`)
  }
  if (values.part === undefined) {
    for (const part of ['clean', 'live-default', 'live-tick-1s']) await runPart(part)
    return
  }
  if (values.part === 'clean') {
    print(falseAlerts())
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-detect-'))
  try {
    if (values.part === 'live-default') print(await liveLatency(dir, 'default config', {}))
    else print(await liveLatency(dir, 'tick 1s', { tick: '1s' }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
