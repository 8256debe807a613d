import { test } from 'node:test'
import assert from 'node:assert/strict'
import pino from 'pino'
import type { Alert } from '../../core/alerts/alert.js'
import type { GatewayTarget, TargetOutcome } from '../../core/ports/gateway-target.js'
import { MemoryRuleStore } from '../../test/support/memory-rule-store.js'
import { enforcePolicy, ScriptedTarget } from '../../test/support/rules.js'
import { Enforcer } from './enforcer.js'

const T0 = Date.parse('2026-11-24T12:00:00Z')
const log = pino({ level: 'silent' })

function setup(opts: { leader?: boolean; targets?: GatewayTarget[]; open?: () => Alert[] } = {}) {
  let now = T0
  const store = new MemoryRuleStore()
  const enforcer = new Enforcer({
    store,
    targets: opts.targets ?? [],
    policy: enforcePolicy(),
    tickMs: 3_600_000,
    isLeader: () => opts.leader ?? true,
    ...(opts.open ? { openAlerts: opts.open } : {}),
    log,
    now: () => now,
  })
  return { store, enforcer, advance: (ms: number) => (now += ms), now: () => now }
}

const loopAlert = (over: Partial<Alert> = {}): Alert => ({
  id: 'a1',
  dedupe_key: 'loop:key:k1:fp:x',
  type: 'loop',
  severity: 'page',
  state: 'firing',
  scope: { kind: 'key', id: 'k1' },
  started_at: T0,
  resolved_at: null,
  updated_at: T0,
  summary: 'loop on key k1',
  details: { action: JSON.stringify({ action: 'block' }) },
  links: {},
  ...over,
})
const retryable: TargetOutcome = {
  ok: false,
  retryable: true,
  code: 'HTTP_503',
  message: 'down',
  answer: '503',
}

test('persist first: a failed store write leaves memory unchanged, and the next tick makes the missing rule', async () => {
  const open = [loopAlert()]
  const { store, enforcer } = setup({ open: () => open })
  await enforcer.start()
  store.failWrites(1)
  await assert.rejects(enforcer.onAlertChanges(open, T0), /store down/)
  assert.deepEqual(enforcer.active().rules, [], 'nothing served that the store does not have')
  assert.equal(store.rules.size, 0)
  await enforcer.tick() // reconciles with the alerts still open
  assert.equal(enforcer.active().rules.length, 1)
  assert.equal(store.rules.size, 1)
  await enforcer.tick()
  assert.equal(store.log.length, 1, 'reconciling again writes nothing')
  await enforcer.shutdown(1000)
})

test('a push that fails is owed and re-driven on the next tick; removal after lift; audit of each', async () => {
  const target = new ScriptedTarget('hook-webhook', [retryable])
  const { store, enforcer } = setup({ targets: [target] })
  await enforcer.start()
  await enforcer.onAlertChanges([loopAlert()], T0)
  await enforcer.flush()
  const [rule] = [...store.rules.values()]
  assert.equal(rule!.state, 'pending')
  assert.equal(rule!.targets[0]!.last_error, 'HTTP_503: down')
  assert.equal(enforcer.active().rules.length, 1, 'a pending rule is already served to hooks')
  await enforcer.tick()
  await enforcer.flush()
  assert.equal(store.rules.get(rule!.id)!.state, 'active')
  assert.equal(store.rules.get(rule!.id)!.targets[0]!.state, 'applied')
  await enforcer.lift(rule!.id, 'alice')
  await enforcer.flush()
  assert.deepEqual(target.calls, [`apply ${rule!.id}`, `apply ${rule!.id}`, `remove ${rule!.id}`])
  assert.deepEqual(
    store.log.map((e) => e.kind),
    ['created', 'apply_failed', 'applied', 'lifted', 'removed'],
  )
  assert.equal(store.rules.get(rule!.id)!.targets[0]!.state, 'removed')
  await enforcer.shutdown(1000)
})

test('only the leader pushes and expires; every instance serves the rules in the store', async () => {
  const target = new ScriptedTarget('t')
  const follower = setup({ leader: false, targets: [target] })
  await follower.enforcer.start()
  await follower.enforcer.onAlertChanges([loopAlert()], T0)
  await follower.enforcer.flush()
  assert.deepEqual(target.calls, [])
  assert.equal(follower.enforcer.active().rules.length, 1)
  follower.advance(16 * 60_000)
  await follower.enforcer.tick()
  assert.equal([...follower.store.rules.values()][0]!.state, 'pending', 'a follower does not expire')
  assert.deepEqual(follower.enforcer.active().rules, [], 'but never serves it past expires_at')
  await follower.enforcer.shutdown(1000)
})

test('a resolved alert lifts its rule; the rule of an expired incident is not made again while it stays open', async () => {
  const open = [loopAlert()]
  const { store, enforcer, advance, now } = setup({ open: () => open })
  await enforcer.start()
  await enforcer.onAlertChanges(open, T0)
  advance(16 * 60_000)
  await enforcer.tick()
  const [rule] = [...store.rules.values()]
  assert.equal(rule!.state, 'expired')
  await enforcer.tick()
  assert.equal(enforcer.active().rules.length, 0, 'the same incident does not get a second rule')
  await enforcer.onAlertChanges([{ ...open[0]!, state: 'resolved', resolved_at: now() }], now())
  assert.equal(store.rules.get(rule!.id)!.state, 'expired', 'an ended rule stays as it ended')
  await enforcer.shutdown(1000)
})
