import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { clickHouseRuleStore } from '../../adapters/clickhouse/rules-table.js'
import type { Alert } from '../../core/alerts/alert.js'
import type { GatewayTarget } from '../../core/ports/gateway-target.js'
import { Enforcer } from '../../services/enforce/enforcer.js'
import { enforcePolicy, ScriptedTarget } from '../support/rules.js'
import { freshStore, rows, silentLog } from '../support/store.js'

const T0 = Date.parse('2026-11-24T12:00:00Z')
const store = await freshStore('rules')
after(() => store.client.close())

const instance = (leader: boolean, target: GatewayTarget) =>
  new Enforcer({
    store: clickHouseRuleStore(store.client, store.database),
    targets: [target],
    policy: enforcePolicy(),
    tickMs: 3_600_000,
    isLeader: () => leader,
    log: silentLog,
    now: () => T0,
  })

const alert: Alert = {
  id: 'alert-1',
  dedupe_key: 'budget_exhaustion:acme-daily:1:customer:acme',
  type: 'budget_exhaustion',
  severity: 'page',
  state: 'firing',
  scope: { kind: 'customer', id: 'acme' },
  started_at: T0,
  resolved_at: null,
  updated_at: T0,
  summary: 'customer acme exhausted its $5 daily budget',
  details: { action: JSON.stringify({ action: 'block' }) },
  links: {},
}

test('two instances on one store that see the same incident make one rule, pushed once (by the leader)', async () => {
  const leaderTarget = new ScriptedTarget('webhook:count')
  const followerTarget = new ScriptedTarget('webhook:count')
  const a = instance(true, leaderTarget)
  const b = instance(false, followerTarget)
  await a.start()
  await b.start()
  await Promise.all([a.onAlertChanges([alert], T0), b.onAlertChanges([alert], T0)])
  await a.tick()
  await b.tick()
  await a.flush()
  await b.flush()
  const stored = await rows<{ id: string; n: string }>(
    store,
    'SELECT id, count() AS n FROM {{db}}.rules FINAL GROUP BY id',
  )
  assert.equal(stored.length, 1, 'one rule')
  assert.equal(leaderTarget.calls.length, 1, 'the leader pushed it once')
  assert.deepEqual(followerTarget.calls, [], 'the follower never pushes')
  // both serve the same active set from the store
  assert.deepEqual(a.active().rules, b.active().rules)
  assert.equal(a.active().rules[0]!.scope.id, 'acme')
  assert.equal((await b.list({ state: 'in_force', limit: 10 }))[0]!.state, 'active')
  await a.shutdown(1000)
  await b.shutdown(1000)
})

test('the store keeps the latest version of each rule and the whole audit, in order', async () => {
  const s = clickHouseRuleStore(store.client, store.database)
  const list = await s.list({ state: 'all', scope_kind: 'customer', scope_id: 'acme', limit: 10 })
  assert.equal(list.length, 1)
  const events = await s.events(list[0]!.id)
  // each instance recorded that it made the rule (one rule, two witnesses), then the leader's push
  assert.deepEqual(
    events.map((e) => e.kind),
    ['created', 'created', 'applied'],
  )
  assert.equal((await s.list({ state: 'all', scope_kind: 'team', limit: 10 })).length, 0)
  assert.equal(await s.get('rule_none'), undefined)
})
