/**
 * Spend anomaly benchmark (issue 12):
 * - calibrate: every reading of the detector on the clean stream (each tick, each scope with spend, with a
 *   baseline and the window minimums met): how far above its baseline clean traffic gets (ratio, $/h over
 *   baseline), per scope kind, to choose the defaults;
 * - clean: the clean stream through `runDetectors` (every detector, default config, the benchmark's five
 *   budgets): spend anomaly findings must be 0;
 * - planted: the same stream with planted spikes: each must fire within one tick of the instant an
 *   independent oracle (raw events, brute force) says it crossed the threshold.
 * Usage: npm run build && node dist/bench/spend-anomaly.js [--events 1000000 --days 28 --part all]
 */
import { parseArgs } from 'node:util'
import type { Finding } from '../core/detectors/finding.js'
import { runDetectors } from '../core/detectors/run-detectors.js'
import { DetectorsConfig } from '../schemas/policy.js'
import type { RequestEvent } from '../schemas/request-event.js'
import { cleanStream, cleanStreamBudgets, type CleanStreamOptions } from '../test/support/clean-stream.js'
import { plantedSpikes } from '../test/support/planted-spikes.js'
import { mergeByTime, oracleCrossing, spikeEvents, worstReadings } from '../test/support/spend-spikes.js'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '28' },
    part: { type: 'string', default: 'all' },
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

if (part === 'calibrate' || part === 'all') calibrate()
if (part === 'clean' || part === 'all') clean()
if (part === 'planted' || part === 'all') planted()
