// Guardrail latency through the real LiteLLM proxy: from a loop's first request to the first response
// served by the downgraded model, over several loops (each a new agent). Gatewarden runs in this process
// on the embedded store with the default detector timing except `tick` (see the printed config); the
// proxy logs to it (generic_api, 1 s flush) and runs the hook (1 s refresh).
//
//   npm run bench:guardrail [-- --runs 7]
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { EnforcementSimulator } from '../core/rules/simulate.js'
import { Config } from '../schemas/config.js'
import { DetectorsConfig } from '../schemas/policy.js'
import { eventDefaults, type RequestEvent } from '../schemas/request-event.js'
import { replayEvents } from '../services/replay/run.js'
import { loadPriceTable } from '../services/ingest/price-table.js'
import { cleanStream, cleanStreamBudgets } from '../test/support/clean-stream.js'
import { start } from '../services/start.js'
import { callUntil, chat } from '../test/support/guardrail-client.js'
import { startLiteLLM } from '../test/support/litellm-proxy.js'
import { REPO_ROOT } from '../test/support/paths.js'
import { silentLog, testDataDir } from '../test/support/store.js'

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, quick: { type: 'boolean' } },
})
const runs = values.quick ? 3 : Number(values.runs)
const historyEvents = values.quick ? 100_000 : 1_000_000

// (a) replay --enforce over the detection benchmark's clean synthetic history, with 20 planted loops
const PLANTED = 20
async function* history(): AsyncGenerator<RequestEvent> {
  const start = Date.UTC(2026, 10, 2)
  const loopAt = (i: number) => start + 86_400_000 + i * 13 * 3_600_000 + 600_000 // spread over the days
  const planted: RequestEvent[] = []
  for (let i = 0; i < PLANTED; i++)
    for (let r = 0; r < 8; r++) {
      const ts = loopAt(i) + r * 3_000
      planted.push({
        ...eventDefaults(),
        event_id: `planted-${i}-${r}`,
        ts,
        end_ts: ts + 1_000,
        duration_ms: 1_000,
        source: 'litellm_http',
        customer: `planted-cust-${i}`,
        api_key_hash: `planted-key-${i}`,
        model_requested: 'gpt-4o',
        model: 'gpt-4o',
        fingerprint: `planted-fp-${i}`,
        input_tokens: 2_000,
        output_tokens: 500,
        cost_usd: 0.01,
        http_status: 200,
      })
    }
  let next = 0
  for (const e of cleanStream({ events: historyEvents, start })) {
    while (next < planted.length && planted[next]!.ts <= e.ts) yield planted[next++]!
    yield e
  }
  while (next < planted.length) yield planted[next++]!
}
const replayPolicy = {
  budgets: cleanStreamBudgets({ events: historyEvents }),
  detectors: DetectorsConfig.parse({
    loop: { action: { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } } },
  }),
}
const sim = new EnforcementSimulator(
  {
    enforcement: {
      mode: 'dry_run',
      ttl: { downgrade: 3_600_000, block: 900_000 },
      lift_on_resolve: true,
      gateway_models: [],
    },
  },
  loadPriceTable({ overrides: {} }),
  replayPolicy.detectors.allowed_lateness,
)
const t0 = performance.now()
const replayed = await replayEvents(history(), replayPolicy, { enforce: sim })
const replayS = (performance.now() - t0) / 1000
const enforcement = sim.report(replayed.counters.lastTs ?? 0)
const plantedRules = enforcement.rules.filter((r) => r.rule.scope.id.startsWith('planted-key-'))
process.stdout.write(
  `guardrail (a) replay --enforce: ${replayed.counters.read.toLocaleString('en-US')} events (the detection benchmark's clean 14 days + ${PLANTED} planted loops of 8 identical gpt-4o calls 3 s apart), default detectors, loop action downgrade gpt-4o->gpt-4o-mini\n` +
    `  rules: ${enforcement.totals.rules} (${plantedRules.length} on planted loop keys, ${enforcement.totals.rules - plantedRules.length} elsewhere = false rules), calls caught ${enforcement.totals.calls}, spend $${enforcement.totals.spend_usd} -> saved $${enforcement.totals.saved_usd}; ${enforcement.totals.skipped} alerts with an action not enforceable\n` +
    `  replay time ${replayS.toFixed(1)} s (${Math.round(replayed.counters.read / replayS).toLocaleString('en-US')} events/s, detectors + simulation)\n`,
)

const port = await new Promise<number>((resolve) => {
  const s = createServer()
  s.listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port
    s.close(() => resolve(p))
  })
})
const detectors = {
  tick: '1s',
  allowed_lateness: '1s',
  loop: {
    threshold: 5,
    window: '60s',
    scope: ['agent'],
    action: { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } },
  },
}
const gw = await start(
  Config.parse({
    server: { port },
    store: { data_dir: testDataDir(), database: `bench_guard_${process.pid}` },
    detectors,
    enforcement: { mode: 'enforce' },
  }),
  silentLog,
)
const proxy = startLiteLLM(
  `http://127.0.0.1:${port}`,
  { LITELLM_CALLBACKS: 'gatewarden' },
  { guardrail: true },
)
const latencies: number[] = []
const calls: number[] = []
try {
  for (let i = 0; i < runs; i++) {
    const agent = `bench-looper-${i}`
    const answers = await callUntil(
      () =>
        chat(
          proxy,
          { model: 'gpt-4o', messages: [{ role: 'user', content: `Summarise ticket ${4711 + i} again` }] },
          { 'x-agent-name': agent },
        ),
      (a) => a.servedBy === 'gpt-4o-mini',
      `downgrade of ${agent}`,
      200,
    )
    const first = answers[0]!
    latencies.push(answers.at(-1)!.at - first.at)
    calls.push(answers.length)
  }
} finally {
  proxy.stop()
  await gw.stop()
}
const sorted = [...latencies].sort((a, b) => a - b)
const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
const result = {
  at: new Date().toISOString(),
  machine: { cores: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version },
  config: { detectors, client_pause_ms: 200, litellm_flush_s: 1, hook_refresh_s: 1 },
  replay_enforce: {
    events: replayed.counters.read,
    planted_loops: PLANTED,
    rules: enforcement.totals.rules,
    rules_on_planted: plantedRules.length,
    calls_caught: enforcement.totals.calls,
    saved_usd: enforcement.totals.saved_usd,
    events_per_s: Math.round(replayed.counters.read / replayS),
  },
  guardrail: {
    runs,
    loop_to_downgrade_ms: { p50: q(0.5), max: sorted.at(-1), all: latencies },
    calls_until_downgraded: calls,
  },
}
process.stdout.write(
  `guardrail (b): ${runs} loops through the real LiteLLM proxy (threshold 5 in 60s, tick 1s, lateness 1s, client 200 ms between calls)\n` +
    `  first request of the loop -> first gpt-4o-mini response: p50 ${q(0.5)} ms, max ${sorted.at(-1)} ms (all: ${latencies.join(', ')})\n` +
    `  calls until downgraded: ${calls.join(', ')}\n`,
)
const dir = join(REPO_ROOT, 'bench', 'results')
mkdirSync(dir, { recursive: true })
writeFileSync(
  join(dir, `guardrail-${result.at.replace(/[:.]/g, '-')}.json`),
  `${JSON.stringify(result, null, 2)}\n`,
)
