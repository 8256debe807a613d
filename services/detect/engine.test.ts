import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import type { Alert } from '../../core/alerts/alert.js'
import { budget, detectors, ev, t } from '../../test/support/detector-fixtures.js'
import type { LeaderElection } from '../../core/ports/leader-election.js'
import { AlertsConfig, type Budget } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import {
  MemoryAlertStore,
  MemoryElection,
  MemoryEventReader,
  MemorySpendReader,
} from '../../test/support/memory-ports.js'
import { DetectionEngine } from './engine.js'

const silentLog = pino({ level: 'silent' })
const T0 = t('2026-11-24T10:00:00Z') // a Tuesday, business hours
const cfg = detectors({ tick: '1m', allowed_lateness: '0s', zombie: { enabled: false } })

interface Ports {
  events: MemoryEventReader
  alerts: MemoryAlertStore
  spend: MemorySpendReader
  election: LeaderElection
}

function harness(opts: { budgets?: Budget[]; election?: LeaderElection; ports?: Ports } = {}) {
  let clock = T0
  const ports: Ports = opts.ports ?? {
    events: new MemoryEventReader(),
    alerts: new MemoryAlertStore(),
    spend: new MemorySpendReader(),
    election: opts.election ?? new MemoryElection(),
  }
  /** What left the recorder, in order: the enforcer hook and the dispatcher. */
  const handed: Array<{ to: 'enforcer' | 'dispatcher'; ids: string[]; stored: boolean }> = []
  const stored = (alerts: readonly Alert[]) =>
    alerts.every((a) => ports.alerts.changes.some((c) => c.alert.id === a.id && c.alert.state === a.state))
  const engine = new DetectionEngine({
    ports,
    budgets: opts.budgets ?? [],
    detectors: cfg,
    alerts: AlertsConfig.parse({}),
    dispatcher: {
      plan: async (alerts) => {
        handed.push({ to: 'dispatcher', ids: alerts.map((a) => a.id), stored: stored(alerts) })
      },
      tick: async () => undefined,
    },
    metrics: { gauge: () => undefined },
    log: silentLog,
    now: () => clock,
    instance: 'gw-a',
    onAlertChanges: async (alerts) => {
      handed.push({ to: 'enforcer', ids: alerts.map((a) => a.id), stored: stored(alerts) })
    },
  })
  return {
    engine,
    ports,
    handed,
    at: (ms: number) => {
      clock = ms
    },
  }
}

/** Six calls of one prompt on one key within 12 s: a loop (threshold 5). */
const loopEvents = (from: number): RequestEvent[] =>
  Array.from({ length: 6 }, (_, i) =>
    ev({ event_id: `loop-${from}-${i}`, ts: from + i * 2_000, api_key_hash: 'key-1', fingerprint: 'stuck' }),
  )

/** Stored as they happen; the 5th repeat fires when the 6th passes it, the tick lets the rest through. */
async function detectLoop(h: ReturnType<typeof harness>): Promise<void> {
  h.at(T0 + 10_000)
  await h.engine.onStored(loopEvents(T0 + 10_000), T0 + 10_000)
  h.at(T0 + 30_000)
  await h.engine.tick()
}

const firing = (store: MemoryAlertStore, type: string) =>
  store.changes.filter((c) => c.alert.type === type && c.alert.state === 'firing')

test('a stored loop alert goes to the enforcer, then the dispatcher, after the store has it; openAlerts lists it', async () => {
  const h = harness()
  await h.engine.start()
  await detectLoop(h)
  const loops = firing(h.ports.alerts, 'loop')
  assert.equal(loops.length, 1)
  const id = loops[0]!.alert.id
  assert.deepEqual(h.handed, [
    { to: 'enforcer', ids: [id], stored: true },
    { to: 'dispatcher', ids: [id], stored: true },
  ])
  assert.deepEqual(
    h.engine.openAlerts().map((a) => a.id),
    [id],
  )
  await h.engine.shutdown(1_000)
})

test('the store refuses an alert change: nothing is handed on; once the store is back the change is stored and handed on once', async () => {
  const h = harness()
  await h.engine.start()
  h.ports.alerts.faults.failNext(1)
  h.at(T0 + 10_000)
  await h.engine.onStored(loopEvents(T0 + 10_000), T0 + 10_000) // the 5th repeat fires: the store refuses it
  assert.equal(h.ports.alerts.changes.length, 0, 'the store has nothing')
  assert.equal(h.handed.length, 0, 'nothing handed on before the store has it')
  assert.equal(h.engine.openAlerts().length, 0, 'persist before memory: not listed for the enforcer yet')

  h.at(T0 + 60_000)
  await h.engine.tick()
  assert.equal(firing(h.ports.alerts, 'loop').length, 1, 'stored once the store is back')
  assert.deepEqual(
    h.handed.map((x) => [x.to, x.stored]),
    [
      ['enforcer', true],
      ['dispatcher', true],
    ],
  )
  assert.equal(h.engine.openAlerts().length, 1, 'listed once stored')
  h.at(T0 + 70_000) // the loop is still going on (resolves a window after its last repeat)
  await h.engine.tick()
  assert.equal(firing(h.ports.alerts, 'loop').length, 1, 'not stored twice')
  assert.equal(h.handed.length, 2, 'not handed on twice')
  await h.engine.shutdown(1_000)
})

test('the store took the change but the answer was lost: the retry (same token) adds nothing, the hand-off happens once', async () => {
  const h = harness()
  await h.engine.start()
  h.ports.alerts.faults.ambiguous = true
  h.ports.alerts.faults.failNext(1)
  h.at(T0 + 10_000)
  await h.engine.onStored(loopEvents(T0 + 10_000), T0 + 10_000) // the 5th repeat fires: the store refuses it
  assert.equal(h.ports.alerts.changes.length, 1)
  assert.equal(h.handed.length, 0)
  h.at(T0 + 60_000)
  await h.engine.tick()
  assert.equal(h.ports.alerts.changes.length, 1, 'no duplicate row')
  assert.equal(h.ports.alerts.faults.calls.filter((c) => c === 'insertChanges').length, 2)
  assert.deepEqual(
    h.handed.map((x) => x.to),
    ['enforcer', 'dispatcher'],
  )
  await h.engine.shutdown(1_000)
})

test('election flips: only the leader judges budgets; losing the role drops budget alerts unresolved; regaining it adopts them without re-firing', async () => {
  const election = new MemoryElection()
  const h = harness({
    election,
    budgets: [budget({ name: 'acme-daily', scope: { customer: 'acme' }, limit_usd: 1, period: 'day' })],
  })
  h.ports.spend.events.push(
    ...[0, 1, 2].map((i) => ev({ event_id: `s${i}`, ts: T0 - 600_000 + i, customer: 'acme', cost_usd: 0.5 })),
  )
  await h.engine.start()
  const exhausted = () =>
    firing(h.ports.alerts, 'budget_exhaustion').filter((c) => c.alert.details.threshold === 1)

  election.leader = 'gw-b'
  h.at(T0 + 60_000)
  await h.engine.tick()
  assert.equal(h.engine.isBudgetLeader, false)
  assert.equal(exhausted().length, 0, 'a follower judges no budget')

  election.leader = 'gw-a'
  h.at(T0 + 120_000)
  await h.engine.tick()
  assert.equal(h.engine.isBudgetLeader, true)
  assert.equal(exhausted().length, 1, 'the leader fires it')
  assert.ok(h.engine.openAlerts().some((a) => a.type === 'budget_exhaustion'))
  const changes = h.ports.alerts.changes.length

  election.leader = 'gw-b'
  h.at(T0 + 180_000)
  await h.engine.tick()
  assert.equal(h.engine.isBudgetLeader, false)
  assert.equal(h.engine.openAlerts().filter((a) => a.type === 'budget_exhaustion').length, 0, 'dropped')
  assert.equal(h.ports.alerts.changes.length, changes, 'dropped, not resolved')

  // the store is down for the election: the role stays as it was, the tick still runs
  election.failNext = 1
  h.at(T0 + 240_000)
  await h.engine.tick()
  assert.equal(h.engine.isBudgetLeader, false)

  election.leader = 'gw-a'
  h.at(T0 + 300_000)
  await h.engine.tick()
  assert.equal(h.engine.isBudgetLeader, true)
  assert.equal(h.ports.alerts.changes.length, changes, 'adopted from the store: no second firing')
  assert.ok(h.engine.openAlerts().some((a) => a.dedupe_key === exhausted()[0]!.alert.dedupe_key))
  await h.engine.shutdown(1_000)
})

test('a tick is not queued while one runs: callers share it', async () => {
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  let beats = 0
  const election: LeaderElection = {
    beatAndElect: async (instance) => {
      beats++
      await gate
      return instance
    },
  }
  const h = harness({ election })
  await h.engine.start()
  const first = h.engine.tick()
  const second = h.engine.tick()
  const third = h.engine.tick()
  assert.equal(second, first)
  assert.equal(third, first)
  release()
  await first
  assert.equal(beats, 1)
  await h.engine.tick()
  assert.equal(beats, 2, 'a tick asked for after the last one ended runs')
  await h.engine.shutdown(1_000)
})

test('shutdown is bounded: a step stuck on the store does not hold it past its timeout', async () => {
  const election: LeaderElection = { beatAndElect: () => new Promise<string>(() => undefined) }
  const h = harness({ election })
  await h.engine.start()
  void h.engine.tick()
  await h.engine.shutdown(50)
  // resolved although the tick never ends; a new tick is refused
  await h.engine.tick()
})

test('a resolution the store refused leaves the alert listed open (the rule it made stays) until the store has it', async () => {
  const h = harness()
  await h.engine.start()
  await detectLoop(h)
  const id = firing(h.ports.alerts, 'loop')[0]!.alert.id
  // quiet for a window (resolved), then held for loop.resolve_after (5m by default)
  h.at(T0 + 2 * 60_000)
  await h.engine.tick()
  assert.deepEqual(
    h.engine.openAlerts().map((a) => a.id),
    [id],
    'clearing: still open',
  )
  h.ports.alerts.faults.failNext(1)
  h.at(T0 + 8 * 60_000)
  await h.engine.tick() // the hold is over: the resolution is found, the store refuses it
  assert.equal(h.ports.alerts.changes.filter((c) => c.alert.state === 'resolved').length, 0)
  assert.deepEqual(
    h.engine.openAlerts().map((a) => a.id),
    [id],
    'the store still says firing: still listed',
  )
  h.at(T0 + 9 * 60_000)
  await h.engine.tick()
  assert.deepEqual(
    h.ports.alerts.changes.map((c) => [c.alert.id, c.alert.state]),
    [
      [id, 'firing'],
      [id, 'resolved'],
    ],
    'stored once, in order',
  )
  assert.deepEqual(h.engine.openAlerts(), [])
  assert.deepEqual(
    h.handed.map((x) => [x.to, x.stored]),
    [
      ['enforcer', true],
      ['dispatcher', true],
      ['enforcer', true],
      ['dispatcher', true],
    ],
  )
  await h.engine.shutdown(1_000)
})

test('a restart while an alert is clearing: no second firing, one resolution once clear for resolve_after', async () => {
  const h = harness()
  await h.engine.start()
  h.ports.events.events.push(...loopEvents(T0 + 10_000)) // what the store has, for the restore
  await detectLoop(h)
  const id = firing(h.ports.alerts, 'loop')[0]!.alert.id
  h.at(T0 + 2 * 60_000)
  await h.engine.tick() // quiet for a window: clearing, nothing stored
  assert.equal(h.ports.alerts.changes.length, 1)
  await h.engine.shutdown(1_000)

  // a new process on the same store: the alert is firing there, the replay finds the loop over
  const h2 = harness({ ports: h.ports })
  h2.at(T0 + 3 * 60_000)
  await h2.engine.start()
  assert.deepEqual(
    h2.engine.openAlerts().map((a) => a.id),
    [id],
    'restored open',
  )
  assert.equal(h.ports.alerts.changes.length, 1, 'the restore neither re-fires nor resolves at once')
  h2.at(T0 + 7 * 60_000)
  await h2.engine.tick()
  assert.equal(h.ports.alerts.changes.length, 1, 'held: the hold restarted at the restore')
  h2.at(T0 + 8 * 60_000)
  await h2.engine.tick()
  assert.deepEqual(
    h.ports.alerts.changes.map((c) => [c.alert.id, c.alert.state]),
    [
      [id, 'firing'],
      [id, 'resolved'],
    ],
  )
  await h2.engine.shutdown(1_000)
})
