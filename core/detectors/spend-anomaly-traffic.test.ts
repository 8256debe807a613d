import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DetectorsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { cleanStream, cleanStreamBudgets } from '../../test/support/clean-stream.js'
import { plantedSpikes } from '../../test/support/planted-spikes.js'
import { mergeByTime, oracleCrossing, spikeEvents, worstReadings } from '../../test/support/spend-spikes.js'
import { runDetectors } from './run-detectors.js'

// The benchmark's clean generator (daily wave, quieter weekends, Zipf customers, agents in business hours)
// The clean check runs on 1,000,000 events over 4 weeks (the size; about 2 minutes); the margin
// and planted-spike checks on 200k over 3 weeks (enough for the weekly baselines) to keep CI short.
// `node dist/bench/spend-anomaly.js` runs all of them on 1,000,000 events (see bench/README.md).
const CLEAN_1M = { events: 1_000_000, days: 28 }
const OPTS = { events: 200_000, days: 21 }
const START = Date.UTC(2026, 10, 2)

const brief = (f: { at: number; state: string; summary: string }) =>
  `${new Date(f.at).toISOString()} ${f.state} ${f.summary}`

test('spend anomaly on clean traffic (1M events, 4 weeks, every detector at its defaults): 0 anomaly alerts', () => {
  const detectors = DetectorsConfig.parse({})
  const findings = runDetectors(cleanStream(CLEAN_1M), {
    budgets: cleanStreamBudgets(CLEAN_1M),
    detectors,
  })
  assert.deepEqual(findings.filter((f) => f.type === 'spend_anomaly').map(brief), [])
})

test('spend anomaly on clean traffic: every reading that meets the minimums stays below the relative threshold', () => {
  // not only the dollar floor keeps clean traffic quiet: the baseline does (the defaults' margin)
  const detectors = DetectorsConfig.parse({})
  const cfg = detectors.spend_anomaly
  const worst = worstReadings(cleanStream(OPTS), cfg, detectors.tick)
  assert.ok((worst.get('model')?.readings ?? 0) > 1000, 'models are judged')
  for (const [kind, w] of worst)
    assert.ok(w.ratio < cfg.factor, `${kind}: ${w.ratio.toFixed(2)}x at ${w.ratioAt}`)
})

test('spend anomaly: planted spikes in clean traffic are all caught within one tick of crossing, nothing else fires', () => {
  const detectors = DetectorsConfig.parse({})
  const spikes = plantedSpikes(START, OPTS.days)
  assert.ok(spikes.length >= 8)
  const spiky = spikes.map((s, i) => spikeEvents(s, 100 + i))
  const events: RequestEvent[] = [...mergeByTime(cleanStream(OPTS), ...spiky)]
  const findings = runDetectors(events, { budgets: cleanStreamBudgets(OPTS), detectors })
  const firing = findings.filter((f) => f.type === 'spend_anomaly' && f.state === 'firing')
  const key = (k: { kind: string; id: string }) => `${k.kind}:${k.id}`
  for (const s of spikes) {
    const own = events.filter((e) => (s.scope.kind === 'customer' ? e.customer : e.model) === s.scope.id)
    const cross = oracleCrossing(own, detectors.spend_anomaly, detectors.tick, s.start, s.start + s.duration)
    assert.ok(cross !== null, `${s.name} crosses the threshold`)
    const f = firing.find(
      (x) => key(x.scope) === key(s.scope) && x.at >= s.start && x.at <= s.start + s.duration,
    )
    assert.ok(f, `${s.name} fires: ${firing.map(brief).join('\n')}`)
    assert.ok(
      Math.abs(f.at - cross) <= detectors.tick,
      `${s.name} fired ${(f.at - cross) / 1000}s after crossing`,
    )
  }
  assert.equal(firing.length, spikes.length, firing.map(brief).join('\n'))
})
