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
import { Config } from '../schemas/config.js'
import { start } from '../services/start.js'
import { callUntil, chat } from '../test/support/guardrail-client.js'
import { startLiteLLM } from '../test/support/litellm-proxy.js'
import { REPO_ROOT } from '../test/support/paths.js'
import { silentLog, testDataDir } from '../test/support/store.js'

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, quick: { type: 'boolean' } },
})
const runs = values.quick ? 3 : Number(values.runs)

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
  guardrail: {
    runs,
    loop_to_downgrade_ms: { p50: q(0.5), max: sorted.at(-1), all: latencies },
    calls_until_downgraded: calls,
  },
}
process.stdout.write(
  `guardrail: ${runs} loops through the real LiteLLM proxy (threshold 5 in 60s, tick 1s, lateness 1s, client 200 ms between calls)\n` +
    `  first request of the loop -> first gpt-4o-mini response: p50 ${q(0.5)} ms, max ${sorted.at(-1)} ms (all: ${latencies.join(', ')})\n` +
    `  calls until downgraded: ${calls.join(', ')}\n`,
)
const dir = join(REPO_ROOT, 'bench', 'results')
mkdirSync(dir, { recursive: true })
writeFileSync(
  join(dir, `guardrail-${result.at.replace(/[:.]/g, '-')}.json`),
  `${JSON.stringify(result, null, 2)}\n`,
)
