import { test } from 'node:test'
import assert from 'node:assert/strict'
import { detectionFigures, spendAnomalyFigures } from './cli-parts.js'

// Output as bench/detection.ts and bench/spend-anomaly.ts print it (lines from real runs).
const DETECTION = `(a) false alerts: 100,000 clean events (14 days from Mon 2026-11-02: 5,000 customers (Zipf), 60 agents Mon-Fri 08-19 UTC, unique prompts, 1% errors with retries)
  detectors: default config (tick 5s, allowed_lateness 5s, loop 5 in 60s per key/trace, zombie mon-fri 08:00-19:00 UTC, max_session 2h)
  budgets (3x the busiest scope's expected spend): global-monthly $4186.41, customer-daily $7.44
  throughput (runDetectors, generation excluded): 2,739 events/s (36.5 s)
  ceiling (one Map update per event keyed by key+fingerprint, same events, same run): 83,000 events/s
  ratio to ceiling: 0.033
  findings: 20 FALSE ALERTS: budget_exhaustion firing 10, budget_exhaustion resolved 10
    2026-11-13T18:53:05.000Z budget_exhaustion firing agent:agent-25 agent agent-25 crossed 50% of its $1.85 daily budget
  peak RSS (process running generator + detectors): 939 MiB
(b) detection latency, default config: tick 5s, allowed_lateness 5s; loop threshold 5 in 60s
  traffic: 1,680 background events in 17 s (99/s, POSTs every 100 ms) + 20 loops (20 keys x 6 identical requests 1 s apart, one POST each); each event starts 1.5 s before it is POSTed
  client side (POST completing the loop sent -> alert in GET /api/alerts, polled every ~100 ms, 41 polls): 20/20 seen, p50 4240 ms, p99 4719 ms, max 12.5 s
  engine.latencies() (batch submitted -> alert stored, per batch that produced a firing finding): n=5, p50 926 ms, p99 1680 ms
  other alerts (false alerts on the background): 0
  peak RSS (process running Gatewarden + embedded store + load generator): 418 MiB
(b) detection latency, tick 1s: tick 1s, allowed_lateness 5s; loop threshold 5 in 60s
  client side (POST completing the loop sent -> alert in GET /api/alerts, polled every ~100 ms, 40 polls): 19/20 seen, p50 3900 ms, p99 4100 ms, max 4100 ms
  engine.latencies() (batch submitted -> alert stored, per batch that produced a firing finding): n=0, p50 NaN ms, p99 NaN ms
  other alerts (false alerts on the background): 2
`

test('detectionFigures: the clean block and each live block, times in ms', () => {
  const f = detectionFigures(DETECTION)
  assert.equal(f['detection.clean.events'], 100_000)
  assert.equal(f['detection.clean.events_per_s'], 2739)
  assert.equal(f['detection.clean.ratio_to_map_ceiling'], 0.033)
  assert.equal(f['detection.clean.false_alerts'], 20)
  assert.equal(f['detection.clean.rss_mib.peak'], 939)
  assert.equal(f['detection.loop.seen'], 20)
  assert.equal(f['detection.loop.latency_ms.p50'], 4240)
  assert.equal(f['detection.loop.latency_ms.p99'], 4719)
  assert.equal(f['detection.loop.latency_ms.max'], 12_500)
  assert.equal(f['detection.loop.engine_latency_ms.p99'], 1680)
  assert.equal(f['detection.loop.false_alerts'], 0)
  assert.equal(f['detection.loop_tick_1s.seen'], 19)
  assert.equal(f['detection.loop_tick_1s.latency_ms.p99'], 4100)
  assert.ok(Number.isNaN(f['detection.loop_tick_1s.engine_latency_ms.p99']))
  assert.equal(f['detection.loop_tick_1s.false_alerts'], 2)
})

test('detectionFigures: a missing block or a changed line fails, naming what is missing', () => {
  assert.throws(() => detectionFigures(DETECTION.slice(0, DETECTION.indexOf('(b)'))), /no \(a\) or no \(b\)/)
  assert.throws(() => detectionFigures(DETECTION.replace('throughput', 'speed')), /no throughput/)
})

const CLEAN = `clean: 30,000 clean events over 7 days from Mon 2026-11-02 (5,000 customers Zipf, 60 agents Mon-Fri 08-19 UTC), every detector at its defaults, 19.4 s
  spend_anomaly findings: 0 (no false alert); all findings: 40
`
const PLANTED = `planted: 7 spikes in 30,000 clean events (24.4 s through runDetectors; tick 5s)
  tue-quiet customer:cust-40 +$6/h from 2026-11-03T03:10:00.000Z: crosses 2026-11-03T03:15:15.000Z, fired 2026-11-03T03:15:15.000Z, delay 0s
  caught 7/7; delay after crossing: max 0s, min -5s; other anomaly firings: 0
`

test('spendAnomalyFigures: false alerts, caught spikes and delays, events/s of both runs', () => {
  const f = spendAnomalyFigures(CLEAN, PLANTED)
  assert.equal(f['spend_anomaly.events'], 30_000)
  assert.equal(f['spend_anomaly.days'], 7)
  assert.equal(f['spend_anomaly.clean.false_alerts'], 0)
  assert.equal(f['spend_anomaly.clean.findings_all_detectors'], 40)
  assert.equal(f['spend_anomaly.clean.events_per_s'], Math.round(30_000 / 19.4))
  assert.equal(f['spend_anomaly.planted.caught'], 7)
  assert.equal(f['spend_anomaly.planted.spikes'], 7)
  assert.equal(f['spend_anomaly.planted.delay_s.max'], 0)
  assert.equal(f['spend_anomaly.planted.delay_s.min'], -5)
  assert.equal(f['spend_anomaly.planted.other_firings'], 0)
  assert.equal(f['spend_anomaly.planted.events_per_s'], Math.round(30_000 / 24.4))
  assert.throws(() => spendAnomalyFigures(CLEAN, 'planted: nothing'), /planted run line/)
})
