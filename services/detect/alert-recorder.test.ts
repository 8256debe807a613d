import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import type { Alert } from '../../core/alerts/alert.js'
import type { Finding } from '../../core/detectors/finding.js'
import type { AlertChange } from '../../core/ports/alert-store.js'
import { AlertsConfig } from '../../schemas/policy.js'
import { MemoryAlertStore } from '../../test/support/memory-ports.js'
import { AlertRecorder } from './alert-recorder.js'

const silentLog = pino({ level: 'silent' })
const T0 = Date.UTC(2026, 10, 24, 10)
const MAX = 4

const finding = (key: string, state: Finding['state'], at: number): Finding => ({
  type: 'loop',
  dedupe_key: key,
  state,
  severity: 'ticket',
  scope: { kind: 'trace', id: key },
  at,
  summary: `${key} ${state}`,
  details: {},
})

function recorder(store: MemoryAlertStore) {
  const planned: Alert[] = []
  let n = 0
  const rec = new AlertRecorder({
    store,
    alerts: AlertsConfig.parse({ max_unsaved_changes: MAX }),
    resolveAfter: () => 0, // every resolution at once: each re-fire is a new alert (the worst case)
    handOff: { plan: async (alerts) => void planned.push(...alerts) },
    log: silentLog,
    instance: 'gw-a',
    newToken: () => `token-${++n}`,
  })
  return { rec, planned }
}

/** The latest stored state of each alert id. */
const latestById = (changes: readonly AlertChange[]) => {
  const out = new Map<string, Alert>()
  for (const c of changes) out.set(c.alert.id, c.alert)
  return out
}

test('a long store outage: waiting alert changes are capped (latest state per alert), counted, and the store ends consistent', async () => {
  const store = new MemoryAlertStore()
  const { rec } = recorder(store)
  const keys = ['k0', 'k1', 'k2']
  // before the outage: k0 fires and is stored
  await rec.record([finding('k0', 'firing', T0)], T0)
  const first = store.changes[0]!.alert
  assert.equal(first.state, 'firing')

  store.faults.failNext(1_000_000) // the store refuses every write from now on
  const ROUNDS = 200
  let maxWaiting = 0
  let at = T0 + 500
  // the first change refused (z fires) is the batch retried with its token; k0's resolution comes after
  let found = (await rec.record([finding('z', 'firing', at)], at)).length
  for (let r = 0; r < ROUNDS; r++) {
    for (const state of ['resolved', 'firing'] as const) {
      at += 1_000
      found += (
        await rec.record(
          keys.map((k) => finding(k, state, at)),
          at,
        )
      ).length
      maxWaiting = Math.max(maxWaiting, rec.unsaved)
    }
  }
  // without the cap, 2 * 3 * 200 = 1200 changes would wait; with it: the batch being retried (at most
  // one round's changes) plus at most two per dedupe key
  assert.ok(
    maxWaiting <= MAX + 1 + 2 * keys.length,
    `waiting changes stayed bounded by the alerts, not the outage (max seen ${maxWaiting})`,
  )
  assert.equal(found, 2 + keys.length + 2 * keys.length * (ROUNDS - 1), 'the changes found in the outage')
  assert.equal(store.changes.length, 1, 'nothing stored during the outage')

  // the store is back: the next round writes what waits, in order, each batch once
  store.faults.failNext(0)
  at += 1_000
  await rec.record([], at)
  assert.equal(rec.unsaved, 0)
  assert.equal(
    rec.coalesced,
    found - (store.changes.length - 1),
    'what was not stored is counted as coalesced',
  )
  assert.ok(rec.coalesced > 0)
  const latest = latestById(store.changes)
  // the alert stored before the outage got its resolution: it does not stay firing in the store
  assert.equal(latest.get(first.id)?.state, 'resolved', 'the stored alert was resolved in the store')
  // each key has exactly one alert firing in the store: the latest incident
  for (const k of keys) {
    const firing = [...latest.values()].filter((a) => a.dedupe_key === k && a.state === 'firing')
    assert.equal(firing.length, 1, `${k}: one firing alert`)
    assert.equal(firing[0]!.started_at, at - 1_000, `${k}: the latest incident`)
  }
  assert.deepEqual(
    rec
      .openAlerts()
      .map((a) => a.dedupe_key)
      .sort(),
    [...keys, 'z'],
  )
})

test('a short outage below the cap coalesces nothing: every change is stored in order', async () => {
  const store = new MemoryAlertStore()
  const { rec, planned } = recorder(store)
  store.faults.failNext(2)
  await rec.record([finding('a', 'firing', T0)], T0)
  await rec.record([finding('a', 'resolved', T0 + 1_000)], T0 + 1_000)
  assert.equal(rec.unsaved, 2)
  await rec.record([finding('a', 'firing', T0 + 2_000)], T0 + 2_000)
  assert.equal(rec.unsaved, 0)
  assert.equal(rec.coalesced, 0)
  assert.deepEqual(
    store.changes.map((c) => [c.alert.state, c.alert.started_at]),
    [
      ['firing', T0],
      ['resolved', T0],
      ['firing', T0 + 2_000],
    ],
  )
  assert.equal(planned.length, 3)
})
