import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spendAnomalyFigures } from './cli-parts.js'

// Output as bench/spend-anomaly.ts prints it (lines from a real run).
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
