import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { detectors, ev, MIN, t } from '../../test/support/detector-fixtures.js'
import { AlertsConfig } from '../../schemas/policy.js'
import { MemoryHourlySpend } from '../../test/support/stored-spend.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import {
  MemoryAlertStore,
  MemoryElection,
  MemoryEventReader,
  MemorySpendReader,
} from '../../test/support/memory-ports.js'
import { DetectionEngine } from './engine.js'

const silentLog = pino({ level: 'silent' })
const cfg = detectors({
  tick: '5s',
  allowed_lateness: '0s',
  loop: { enabled: false },
  zombie: { enabled: false },
  spend_anomaly: { scopes: [{ customer: '*' }], action: { action: 'block' } },
})

function engine(stored: RequestEvent[], alerts: MemoryAlertStore, clock: { now: number }) {
  const hourly = new MemoryHourlySpend(stored)
  const e = new DetectionEngine({
    ports: {
      events: new MemoryEventReader(stored),
      alerts,
      spend: new MemorySpendReader(stored),
      election: new MemoryElection(),
      hourly,
    },
    budgets: [],
    detectors: cfg,
    alerts: AlertsConfig.parse({}),
    dispatcher: { plan: async () => undefined, tick: async () => undefined },
    metrics: { gauge: () => undefined },
    log: silentLog,
    now: () => clock.now,
    instance: 'gw-a',
  })
  return { engine: e, hourly }
}

test('live: a spend spike fires through the engine with its action; a restart mid-spike rebuilds the baseline from the hourly rollup and does not re-fire', async () => {
  const start = t('2026-11-02T00:00:00Z')
  const spikeAt = t('2026-11-19T15:07:00Z') // a Thursday
  // 17 days of $3.70/h from acme (a request every 30 s), already in the store
  const stored: RequestEvent[] = []
  for (let ts = start; ts < spikeAt; ts += 30_000)
    stored.push(ev({ event_id: `b-${ts}`, ts, customer: 'acme', cost_usd: 0.030833 }))
  const alerts = new MemoryAlertStore()
  const clock = { now: spikeAt }
  const first = engine(stored, alerts, clock)
  await first.engine.start()
  await first.engine.spendHistorySettled()
  assert.equal(first.hourly.reads, 1)
  // live: background plus a runaway job ($36/h more), stored and handed to the engine every 5 s
  const live = async (e: ReturnType<typeof engine>['engine'], from: number, to: number, spike: boolean) => {
    for (let now = from + 5_000; now <= to; now += 5_000) {
      const batch: RequestEvent[] = []
      for (let ts = now - 5_000; ts < now; ts += 1_000) {
        if (ts % 30_000 === 0)
          batch.push(ev({ event_id: `b-${ts}`, ts, customer: 'acme', cost_usd: 0.030833 }))
        else if (spike && ts % 3_000 === 0)
          batch.push(ev({ event_id: `s-${ts}`, ts, customer: 'acme', cost_usd: 0.03 }))
      }
      stored.push(...batch)
      clock.now = now
      await e.onStored(batch, now)
      await e.tick()
    }
  }
  await live(first.engine, spikeAt, spikeAt + 20 * MIN, true)
  const changes = () => alerts.changes.filter((c) => c.alert.type === 'spend_anomaly').map((c) => c.alert)
  assert.deepEqual(
    changes().map((a) => a.state),
    ['firing'],
  )
  const fired = changes()[0]!
  assert.deepEqual(fired.scope, { kind: 'customer', id: 'acme' })
  assert.equal(fired.details.baseline_for, 'for Thursdays 15:00 UTC')
  assert.equal(fired.details.action, JSON.stringify({ action: 'block' }))
  assert.match(
    fired.summary,
    /^customer acme: \$\d+\.\d\d\/h over the last 15m, \d+(\.\d)?x its usual \$3\.70\/h/,
  )
  // fired at the first tick at which the window crossed 3 x $3.70/h
  assert.ok(fired.started_at > spikeAt && fired.started_at < spikeAt + 5 * MIN)
  await first.engine.shutdown(1000)

  // restart 20 minutes into the spike: the alert stays open, no second firing; it resolves when it is over
  const crash = spikeAt + 20 * MIN
  const second = engine(stored, alerts, clock)
  await second.engine.start()
  await second.engine.spendHistorySettled()
  assert.equal(second.hourly.reads, 1)
  // longer than clear_for: without the baselines from the rollup the restored alert would resolve mid-spike
  await live(second.engine, crash, crash + 40 * MIN, true)
  assert.deepEqual(
    changes().map((a) => a.state),
    ['firing'],
  )
  await live(second.engine, crash + 40 * MIN, crash + 110 * MIN, false)
  assert.deepEqual(
    changes().map((a) => a.state),
    ['firing', 'resolved'],
  )
  assert.equal(changes()[1]!.id, fired.id)
  await second.engine.shutdown(1000)
})
