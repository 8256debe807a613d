import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Config } from '../../schemas/config.js'
import { budget, detectors, MIN, t } from '../../test/support/detector-fixtures.js'
import { litellmPayload } from '../../test/support/events.js'
import { fileEvents } from './file-source.js'
import { buildReport, formatReport, type ReplayReport } from './report.js'
import { replayEvents } from './run.js'

// Issue 9's sparse-traffic reproduction, replayed from a file: a customer whose $16 calls come 7 minutes
// apart. Each call lifts the 5-minute burn-rate window over the factor, and the window empties before the
// next: the detector fires, resolves and fires again (9 firing findings). The live engine holds each
// resolution for `resolve_after` (15 min for burn rate): the re-fires reopen the same alert, one
// incident is one alert. Replay must report the alerts live would have opened, not the raw findings.

const work = mkdtempSync(join(tmpdir(), 'gw-replay-flap-'))
after(() => rmSync(work, { recursive: true, force: true }))

const T0 = t('2026-11-24T10:00:00Z')
const CALLS = Array.from({ length: 9 }, (_, i) => T0 + 30_000 + i * 7 * MIN)
const file = join(work, 'sparse.ndjson')
writeFileSync(
  file,
  CALLS.map((ts) =>
    JSON.stringify(litellmPayload({ id: `call-${ts}`, customer: 'acme', cost: 16, ts })),
  ).join('\n') + '\n',
)

async function replay(burnRate: Record<string, unknown>): Promise<ReplayReport> {
  const config = Config.parse({})
  const policy = {
    // $720 monthly in November = $1/h sustainable; a $16 call in 5 minutes burns far over 14.4x
    budgets: [budget({ name: 'acme-monthly', scope: { customer: 'acme' }, limit_usd: 720, period: 'month' })],
    detectors: detectors({
      tick: '1m',
      allowed_lateness: '0s',
      loop: { enabled: false },
      zombie: { enabled: false },
      budget_exhaustion: { enabled: false },
      spend_anomaly: { enabled: false },
      burn_rate: { windows: [{ long: '1h', short: '5m', factor: 14.4, severity: 'page' }], ...burnRate },
    }),
  }
  const { stats, events } = fileEvents(file, {
    source: 'litellm_http',
    gateway: config.gateway,
    attribution: config.attribution,
    privacy: config.privacy,
  })
  // ticks on to an hour after the last call: time alone resolves what it would have resolved by then
  const run = await replayEvents(events, policy, { until: CALLS.at(-1)! + 60 * MIN })
  return buildReport({
    source: { kind: 'file', path: file, format: stats.format },
    findings: run.findings,
    alertChanges: run.alerts,
    events: run.counters.read,
    warmupEvents: 0,
    invalid: stats.invalid,
    invalidSamples: stats.invalidSamples,
    duplicates: stats.duplicates,
    late: run.runner.late,
    firstTs: run.counters.firstTs,
    lastTs: run.counters.lastTs,
    durationMs: 0,
  })
}

test('replay of flapping sparse traffic: the detector fires 9 times, live opens one alert, replay reports one', async () => {
  const r = await replay({})
  assert.equal(r.stats.events, CALLS.length)
  const b = r.stats.by_type.burn_rate
  assert.equal(b.firing, 9, 'the raw findings flap: nine firings')
  assert.ok(b.resolved >= 8, `and resolutions between them (${b.resolved})`)
  assert.equal(r.stats.findings, b.firing + b.resolved, 'raw findings kept as their own figure')
  assert.equal(r.stats.alerts, 1, 'one incident, one alert')
  assert.equal(b.alerts, 1)
  assert.equal(r.alerts.length, 1)
  const [alert] = r.alerts
  assert.equal(alert!.started_at, r.findings[0]!.at, 'opened by the first firing')
  assert.equal(alert!.state, 'resolved', 'resolved once clear for resolve_after, by the end of the range')
  assert.equal(r.stats.alerts_firing, 0)
  const lastClear = r.findings.filter((f) => f.state === 'resolved').at(-1)!.at
  assert.equal(alert!.resolved_at, lastClear, 'resolved_at = when the condition last cleared')
  assert.match(formatReport(r), /alerts {10}1 \(one per incident, after resolve_after\)/)
})

test('replay of the same file without a hold (resolve_after 0s): nine alerts, as live would open', async () => {
  const r = await replay({ resolve_after: '0s' })
  assert.equal(r.stats.by_type.burn_rate.firing, 9)
  assert.equal(r.stats.alerts, 9)
  assert.equal(new Set(r.alerts.map((a) => a.id)).size, 9)
})
