import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createAlertSenders } from '../../adapters/alerts/channel-factory.js'
import { clickHouseAlertStore } from '../../adapters/clickhouse/alerts-table.js'
import { clickHouseSpendReader } from '../../adapters/clickhouse/budget-spend.js'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { clickHouseLeaderElection } from '../../adapters/clickhouse/heartbeats-table.js'
import { clickHouseOutbox } from '../../adapters/clickhouse/outbox-table.js'
import { clickHouseEventReader, insertRequests } from '../../adapters/clickhouse/requests-table.js'
import { WebhookBody } from '../../core/alerts/webhook-body.js'
import type { RetryClock } from '../../core/retry.js'
import { AlertsConfig } from '../../schemas/policy.js'
import { Dispatcher } from '../../services/detect/dispatcher.js'
import { DetectionEngine } from '../../services/detect/engine.js'
import { startAlertListener } from '../support/alert-listener.js'
import { budget, detectors, ev, MIN, t } from '../support/detector-fixtures.js'
import { freshStore, silentLog } from '../support/store.js'

// The reproduction of issue 9: a burn-rate page on a customer whose calls come a few minutes apart.
// Each call lifts the 5-minute window over the factor; between calls it empties and the alert
// resolves; the next call fires it again. Live detection on the real embedded store, the real
// dispatcher and outbox, a real webhook receiver: count what the receiver gets.

const opened: StoreClient[] = []
after(async () => {
  for (const s of opened) await s.client.close()
})

const T0 = t('2026-11-24T10:00:00Z')
/** Nine $16 calls, 7 minutes apart: 0, 7, ..., 56 minutes. $720 monthly in November = $1/h sustainable. */
const CALLS = Array.from({ length: 9 }, (_, i) => T0 + 30_000 + i * 7 * MIN)
const END = T0 + 90 * MIN

async function pagesOverSparseTraffic(burnRate: Record<string, unknown>) {
  const store = await freshStore('hysteresis')
  opened.push(store)
  const hook = await startAlertListener()
  let clock = T0
  const retryClock: RetryClock = { now: () => clock, sleep: async () => undefined, random: () => 0.5 }
  const alerts = AlertsConfig.parse({
    channels: [{ type: 'webhook', name: 'oncall', url: `${hook.url}/hook` }],
    group_window: 0,
  })
  const dispatcher = new Dispatcher(
    clickHouseOutbox(store),
    createAlertSenders(alerts.channels, { secrets: () => undefined, log: silentLog, timeoutMs: 5_000 }),
    alerts,
    silentLog,
    retryClock,
  )
  const alertStore = clickHouseAlertStore(store)
  const engine = new DetectionEngine({
    ports: {
      events: clickHouseEventReader(store),
      alerts: alertStore,
      spend: clickHouseSpendReader(store),
      election: clickHouseLeaderElection(store),
    },
    budgets: [budget({ name: 'acme-monthly', scope: { customer: 'acme' }, limit_usd: 720, period: 'month' })],
    detectors: detectors({
      tick: '1m',
      allowed_lateness: '0s',
      loop: { enabled: false },
      zombie: { enabled: false },
      budget_exhaustion: { enabled: false },
      burn_rate: { windows: [{ long: '1h', short: '5m', factor: 14.4, severity: 'page' }], ...burnRate },
    }),
    alerts,
    dispatcher,
    metrics: { gauge: () => undefined },
    log: silentLog,
    now: () => clock,
    instance: 'gw-hysteresis',
  })
  try {
    await dispatcher.start()
    await engine.start()
    let next = 0
    for (clock = T0 + MIN; clock <= END; clock += MIN) {
      const due: ReturnType<typeof ev>[] = []
      while (next < CALLS.length && CALLS[next]! < clock) {
        const ts = CALLS[next++]!
        due.push(ev({ event_id: `call-${ts}`, ts, customer: 'acme', cost_usd: 16 }))
      }
      if (due.length > 0) await insertRequests(store.client, store.database, due, `calls-${clock}`)
      await engine.tick()
      await dispatcher.flush()
    }
    await engine.shutdown(5_000)
    await dispatcher.shutdown(5_000)
    const bodies = hook.requests.map((r) => WebhookBody.parse(JSON.parse(r.body.toString('utf8'))))
    const stored = await alertStore.listAlerts({ type: 'burn_rate', limit: 1_000 })
    return { bodies, stored }
  } finally {
    await hook.close()
  }
}

test('burn rate on sparse traffic, without a hold (resolve_after 0s): the reproduction flaps, one page per call', async () => {
  const { bodies, stored } = await pagesOverSparseTraffic({ resolve_after: '0s' })
  const firing = bodies.filter((b) => b.kind === 'firing')
  assert.equal(firing.length, 9, 'nine pages for one incident')
  assert.equal(stored.length, 9, 'nine alerts')
})

test('burn rate on sparse traffic with the default resolve_after: one incident is one page and one resolution', async () => {
  const { bodies, stored } = await pagesOverSparseTraffic({})
  assert.deepEqual(
    bodies.map((b) => [b.kind, b.alerts.map((a) => a.state)]),
    [
      ['firing', ['firing']],
      ['resolved', ['resolved']],
    ],
    'one page, one resolution',
  )
  assert.equal(stored.length, 1, 'one alert in the store')
  const [alert] = stored
  assert.equal(alert!.state, 'resolved')
  assert.equal(bodies[0]!.alerts[0]!.id, alert!.id)
  assert.equal(bodies[1]!.alerts[0]!.id, alert!.id, 'the resolution is of the alert that paged')
  // the last call at 56.5 min leaves the 5m window at 62 min (first tick past 61.5); held 15 min
  assert.equal(alert!.resolved_at, T0 + 62 * MIN, 'resolved_at = when the condition cleared')
  assert.equal(alert!.updated_at, T0 + 77 * MIN, 'announced once clear for 15 minutes')
})
