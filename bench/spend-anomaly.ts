/**
 * Spend anomaly benchmark (issue 12):
 * - calibrate: every reading of the detector on the clean stream (each tick, each scope with spend, with a
 *   baseline and the window minimums met): how far above its baseline clean traffic gets (ratio, $/h over
 *   baseline), per scope kind, to choose the defaults;
 * - clean: the clean stream through `runDetectors` (every detector, default config, the benchmark's five
 *   budgets): spend anomaly findings must be 0;
 * - planted: the same stream with planted spikes: each must fire within one tick of the instant an
 *   independent oracle (raw events, brute force) says it crossed the threshold.
 * - ndjson: the clean stream as LiteLLM payloads (`--out`), to run `gatewarden replay` over it.
 * Usage: npm run build && node dist/bench/spend-anomaly.js [--events 1000000 --days 28 --part all]
 */
import { createWriteStream } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Finding } from '../core/detectors/finding.js'
import { runDetectors } from '../core/detectors/run-detectors.js'
import { DetectorsConfig } from '../schemas/policy.js'
import type { RequestEvent } from '../schemas/request-event.js'
import { cleanStream, cleanStreamBudgets, type CleanStreamOptions } from '../test/support/clean-stream.js'
import { litellmPayload } from '../test/support/events.js'
import { plantedSpikes } from '../test/support/planted-spikes.js'
import { mergeByTime, oracleCrossing, spikeEvents, worstReadings } from '../test/support/spend-spikes.js'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '28' },
    part: { type: 'string', default: 'all' },
    /** `--part ndjson`: where to write the clean stream as LiteLLM payloads, for `gatewarden replay`. */
    out: { type: 'string', default: 'clean-history.ndjson' },
  },
})
const opts: CleanStreamOptions = { events: Number(values.events), days: Number(values.days) }
const part = values.part
const out = (s: string) => process.stdout.write(`${s}\n`)
const n = (x: number) => x.toLocaleString('en-US')

function calibrate(): void {
  const detectors = DetectorsConfig.parse({})
  const cfg = detectors.spend_anomaly
  const worst = worstReadings(cleanStream(opts), cfg, detectors.tick)
  out(
    `calibrate: ${n(opts.events)} clean events over ${opts.days} days, window ${cfg.window / 60_000}m, readings with a baseline and the minimums ($${cfg.min_spend_usd}, ${cfg.min_requests} requests in the window)`,
  )
  for (const [kind, w] of [...worst].sort())
    out(
      `  ${kind}: ${n(w.readings)} readings; highest ratio ${w.ratio.toFixed(2)}x (${w.ratioAt}); highest excess $${w.excess.toFixed(2)}/h (${w.excessAt})`,
    )
}

function clean(): void {
  const policy = { budgets: cleanStreamBudgets(opts), detectors: DetectorsConfig.parse({}) }
  const t0 = performance.now()
  const findings = runDetectors(cleanStream(opts), policy)
  const secs = (performance.now() - t0) / 1000
  const anomalies = findings.filter((f) => f.type === 'spend_anomaly')
  out(
    `clean: ${n(opts.events)} clean events over ${opts.days} days from Mon 2026-11-02 (5,000 customers Zipf, 60 agents Mon-Fri 08-19 UTC), every detector at its defaults, ${secs.toFixed(1)} s`,
  )
  out(
    `  spend_anomaly findings: ${anomalies.length}${anomalies.length === 0 ? ' (no false alert)' : ''}; all findings: ${findings.length}`,
  )
  for (const f of anomalies.slice(0, 20)) out(`    ${new Date(f.at).toISOString()} ${f.state} ${f.summary}`)
}

function planted(): void {
  const detectors = DetectorsConfig.parse({})
  const policy = { budgets: cleanStreamBudgets(opts), detectors }
  const spikes = plantedSpikes(Date.UTC(2026, 10, 2), opts.days!)
  const spiky = spikes.map((s, i) => spikeEvents(s, 100 + i))
  const t0 = performance.now()
  const findings = runDetectors(mergeByTime(cleanStream(opts), ...spiky), policy)
  const secs = (performance.now() - t0) / 1000
  const firing = findings.filter((f) => f.type === 'spend_anomaly' && f.state === 'firing')
  // the oracle needs each spiked scope's whole history: one more pass over the clean stream
  const byScope = new Map<string, RequestEvent[]>(spikes.map((s) => [`${s.scope.kind}:${s.scope.id}`, []]))
  for (const e of mergeByTime(cleanStream(opts), ...spiky)) {
    for (const k of [`customer:${e.customer}`, `model:${e.model}`]) byScope.get(k)?.push(e)
  }
  out(
    `planted: ${spikes.length} spikes in ${n(opts.events)} clean events (${secs.toFixed(1)} s through runDetectors; tick ${detectors.tick / 1000}s)`,
  )
  const delays: number[] = []
  for (const s of spikes) {
    const key = `${s.scope.kind}:${s.scope.id}`
    const cross = oracleCrossing(
      byScope.get(key)!,
      detectors.spend_anomaly,
      detectors.tick,
      s.start,
      s.start + s.duration,
    )
    const f = firing.find(
      (x: Finding) =>
        `${x.scope.kind}:${x.scope.id}` === key &&
        x.at >= s.start &&
        x.at <= s.start + s.duration + detectors.tick,
    )
    const delay = f && cross !== null ? f.at - cross : null
    if (delay !== null) delays.push(delay)
    out(
      `  ${s.name} ${key} +$${s.usdPerHour}/h from ${new Date(s.start).toISOString()}: crosses ${cross === null ? 'never' : new Date(cross).toISOString()}, fired ${f ? new Date(f.at).toISOString() : 'NO'}${delay === null ? '' : `, delay ${delay / 1000}s`}`,
    )
    if (f) out(`      ${f.summary}`)
  }
  const others = firing.filter(
    (f) => !spikes.some((s) => s.scope.kind === f.scope.kind && s.scope.id === f.scope.id),
  )
  out(
    `  caught ${delays.length}/${spikes.length}; delay after crossing: max ${Math.max(...delays) / 1000}s, min ${Math.min(...delays) / 1000}s; other anomaly firings: ${others.length}`,
  )
  for (const f of others.slice(0, 10)) out(`    other: ${new Date(f.at).toISOString()} ${f.summary}`)
}

/** The clean stream as LiteLLM payloads (prompts left out: pair the replay with `detectors.loop.enabled: false`). */
async function ndjson(): Promise<void> {
  const w = createWriteStream(values.out)
  for (const e of cleanStream(opts)) {
    const p = litellmPayload({
      id: e.event_id,
      customer: e.customer,
      cost: e.cost_usd,
      ts: e.ts,
      model: e.model,
      key: e.api_key_hash,
      tokens: [e.input_tokens, e.output_tokens],
    })
    delete p.messages
    delete p.response
    const meta = p.metadata as Record<string, unknown>
    meta.spend_logs_metadata = { endpoint: e.endpoint, ...(e.agent ? { agent: e.agent } : {}) }
    delete meta.requester_custom_headers
    p.request_tags = []
    if (!w.write(`${JSON.stringify(p)}\n`)) await new Promise<void>((r) => w.once('drain', () => r()))
  }
  await new Promise<void>((r) => w.end(() => r()))
  out(`ndjson: ${n(opts.events)} clean events over ${opts.days} days written to ${values.out}`)
}

if (part === 'ndjson') await ndjson()
if (part === 'calibrate' || part === 'all') calibrate()
if (part === 'clean' || part === 'all') clean()
if (part === 'planted' || part === 'all') planted()
