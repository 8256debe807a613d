import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Alert } from '../alerts/alert.js'
import type { Rule } from '../../schemas/rule.js'
import { dueToExpire, planFromAlerts, type TargetInfo } from './plan-rules.js'
import type { RulePolicy } from './rule-from-alert.js'

const T0 = Date.parse('2026-11-24T12:00:00Z')
const MIN = 60_000
const downgrade = { action: 'downgrade' as const, map: { 'gpt-4o': 'gpt-4o-mini' } }

const policy = (
  over: Partial<RulePolicy['enforcement']> = {},
  zombieAction?: RulePolicy['zombieAction'],
): RulePolicy => ({
  enforcement: {
    mode: 'enforce' as const,
    ttl: { downgrade: 60 * MIN, block: 15 * MIN },
    lift_on_resolve: true,
    gateway_models: [],
    ...over,
  },
  zombieAction,
})

function alert(over: Partial<Alert> & { action?: object } = {}): Alert {
  const { action, ...rest } = over
  return {
    id: 'a1',
    dedupe_key: 'loop:key:hash1:fp:abc',
    type: 'loop',
    severity: 'page',
    state: 'firing',
    scope: { kind: 'key', id: 'hash1' },
    started_at: T0,
    resolved_at: null,
    updated_at: T0,
    summary: 'loop on key hash1',
    details: action ? { action: JSON.stringify(action) } : {},
    links: {},
    ...rest,
  }
}

const plan = (
  alerts: Alert[],
  p: RulePolicy = policy(),
  rules = new Map<string, Rule>(),
  targets: TargetInfo[] = [],
) => planFromAlerts(rules, alerts, p, targets, T0)
const asMap = (rs: Rule[]) => new Map(rs.map((r) => [r.id, r]))

test('a firing alert with an action makes one rule for its scope, expiring after the action TTL', () => {
  const { changes } = plan([alert({ action: downgrade })])
  assert.equal(changes.length, 1)
  const r = changes[0]!.rule
  assert.deepEqual(r.scope, { kind: 'key', id: 'hash1' })
  assert.deepEqual(r.action, downgrade)
  assert.equal(r.state, 'active', 'nothing to push to: active at once (the hook pulls it)')
  assert.equal(r.mode, 'enforce')
  assert.equal(r.expires_at, T0 + 60 * MIN)
  assert.equal(r.reason.kind === 'alert' && r.reason.alert_id, 'a1')
  assert.equal(changes[0]!.event.kind, 'created')
  assert.equal(changes[0]!.event.actor, 'detector:loop')
})

test('cases where no rule is made, and why', () => {
  const cases: Array<[string, Alert, RulePolicy, string | null]> = [
    ['no action on the alert', alert(), policy(), null],
    ['enforcement off', alert({ action: downgrade }), policy({ mode: 'off' }), null],
    [
      'global scope',
      alert({ action: { action: 'block' }, scope: { kind: 'global', id: '' } }),
      policy(),
      'scope global cannot be matched at the gateway',
    ],
    [
      'a trace with no agent',
      alert({ action: { action: 'block' }, scope: { kind: 'trace', id: 't1' } }),
      policy(),
      'scope trace cannot be matched at the gateway',
    ],
    [
      'downgrade to a model the gateway does not serve',
      alert({ action: downgrade }),
      policy({ gateway_models: ['gpt-4o', 'claude-3-haiku'] }),
      'downgrade targets not in enforcement.gateway_models: gpt-4o-mini',
    ],
  ]
  for (const [name, a, p, why] of cases) {
    const r = plan([a], p)
    assert.equal(r.changes.length, 0, name)
    assert.deepEqual(
      r.skipped.map((s) => s.reason),
      why ? [why] : [],
      name,
    )
  }
})

test('zombie sessions: the rule goes to the agent; the action comes from the zombie policy', () => {
  const z = alert({
    type: 'zombie_agent',
    dedupe_key: 'zombie:session:s1',
    scope: { kind: 'session', id: 's1' },
    details: { agent: 'crawler' },
  })
  assert.equal(plan([z]).changes.length, 0, 'no zombie action configured')
  const { changes } = plan([z], policy({}, { action: 'block' }))
  assert.deepEqual(changes[0]!.rule.scope, { kind: 'agent', id: 'crawler' })
  assert.equal(changes[0]!.rule.expires_at, T0 + 15 * MIN, 'block TTL')
})

test('a budget rule never outlives its period', () => {
  const periodEnd = T0 + 5 * MIN
  const a = alert({
    type: 'budget_exhaustion',
    dedupe_key: 'budget:acme:1',
    scope: { kind: 'customer', id: 'acme' },
    details: { action: JSON.stringify({ action: 'block' }), period_end: new Date(periodEnd).toISOString() },
  })
  assert.equal(plan([a]).changes[0]!.rule.expires_at, periodEnd)
})

test('one rule per scope and cause: the same incident again changes nothing, a new incident extends it', () => {
  const first = plan([alert({ action: downgrade })]).changes.map((c) => c.rule)
  const again = planFromAlerts(asMap(first), [alert({ action: downgrade })], policy(), [], T0 + MIN)
  assert.equal(again.changes.length, 0)
  const refire = planFromAlerts(
    asMap(first),
    [alert({ id: 'a2', started_at: T0 + 10 * MIN, action: downgrade })],
    policy(),
    [],
    T0 + 10 * MIN,
  )
  assert.equal(refire.changes.length, 1)
  const ext = refire.changes[0]!
  assert.equal(ext.event.kind, 'extended')
  assert.equal(ext.rule.id, first[0]!.id, 'the same rule, not a copy')
  assert.equal(ext.rule.expires_at, T0 + 70 * MIN)
  // planning the same open alerts again (the enforcer reconciles every tick) changes nothing
  const again2 = planFromAlerts(
    asMap([ext.rule]),
    [alert({ id: 'a2', started_at: T0 + 10 * MIN, action: downgrade })],
    policy(),
    [],
    T0 + 11 * MIN,
  )
  assert.deepEqual(again2.changes, [])
})

test('a rule lifted by hand stays lifted for the rest of its incident; a new incident makes a new rule', () => {
  const [r] = plan([alert({ action: downgrade })]).changes.map((c) => c.rule)
  const liftedByHand: Rule = { ...r!, state: 'lifted', ended_by: 'manual:alice' }
  const same = planFromAlerts(asMap([liftedByHand]), [alert({ action: downgrade })], policy(), [], T0 + MIN)
  assert.equal(same.changes.length, 0)
  const next = planFromAlerts(
    asMap([liftedByHand]),
    [alert({ id: 'a2', action: downgrade })],
    policy(),
    [],
    T0 + MIN,
  )
  assert.equal(next.changes.length, 1)
  assert.notEqual(next.changes[0]!.rule.id, r!.id)
  assert.equal(next.changes[0]!.event.kind, 'created')
})

test('a resolved alert lifts the rules of its cause, unless lift_on_resolve is off', () => {
  const rules = asMap(plan([alert({ action: downgrade })]).changes.map((c) => c.rule))
  const resolved = alert({ state: 'resolved', resolved_at: T0 + 2 * MIN })
  const out = planFromAlerts(rules, [resolved], policy(), [], T0 + 2 * MIN)
  assert.equal(out.changes.length, 1)
  assert.equal(out.changes[0]!.rule.state, 'lifted')
  assert.equal(out.changes[0]!.rule.ended_by, 'alert_resolved')
  assert.equal(
    planFromAlerts(rules, [resolved], policy({ lift_on_resolve: false }), [], T0).changes.length,
    0,
  )
})

test('dry run: every rule is made and audited, marked dry_run, and its push targets skipped', () => {
  const targets: TargetInfo[] = [{ name: 'webhook', supports: () => true }]
  const { changes } = plan([alert({ action: downgrade })], policy({ mode: 'dry_run' }), new Map(), targets)
  const r = changes[0]!.rule
  assert.equal(r.mode, 'dry_run')
  assert.equal(r.state, 'active')
  assert.deepEqual(
    r.targets.map((t) => [t.target, t.state]),
    [['webhook', 'skipped']],
  )
})

test('with push targets a rule is pending until each applies it; unsupported scopes are skipped per target', () => {
  const targets: TargetInfo[] = [
    { name: 'admin', supports: (r) => r.scope.kind === 'customer' },
    { name: 'webhook', supports: () => true },
  ]
  const r = plan([alert({ action: downgrade })], policy(), new Map(), targets).changes[0]!.rule
  assert.equal(r.state, 'pending')
  assert.deepEqual(
    r.targets.map((t) => [t.target, t.state]),
    [
      ['admin', 'skipped'],
      ['webhook', 'pending'],
    ],
  )
})

test('dueToExpire: rules in force whose time is up', () => {
  const [r] = plan([alert({ action: { action: 'block' } })]).changes.map((c) => c.rule)
  assert.deepEqual(dueToExpire([r!], T0 + 14 * MIN), [])
  assert.deepEqual(
    dueToExpire([r!], T0 + 15 * MIN).map((x) => x.id),
    [r!.id],
  )
  assert.deepEqual(dueToExpire([{ ...r!, state: 'lifted' }], T0 + 60 * MIN), [])
})

test('a spend anomaly with detectors.spend_anomaly.action blocks its scope; lifted when it resolves', () => {
  const block = { action: 'block' as const }
  const anomaly = alert({
    id: 'sa1',
    dedupe_key: 'spend_anomaly:customer:acme',
    type: 'spend_anomaly',
    scope: { kind: 'customer', id: 'acme' },
    summary: 'customer acme: $42.10/h over the last 15m, 11.4x its usual $3.70/h for Thursdays 15:00 UTC',
    action: block,
  })
  const { changes } = plan([anomaly])
  assert.equal(changes.length, 1)
  const r = changes[0]!.rule
  assert.deepEqual(r.scope, { kind: 'customer', id: 'acme' })
  assert.deepEqual(r.action, block)
  assert.equal(r.expires_at, T0 + 15 * MIN)
  assert.equal(r.reason.kind === 'alert' && r.reason.alert_type, 'spend_anomaly')
  const lifted = planFromAlerts(
    asMap([r]),
    [{ ...anomaly, state: 'resolved', resolved_at: T0 + 5 * MIN }],
    policy(),
    [],
    T0 + 5 * MIN,
  )
  assert.deepEqual(
    lifted.changes.map((c) => [c.rule.state, c.rule.ended_by]),
    [['lifted', 'alert_resolved']],
  )
  // without an action configured, an anomaly only alerts
  assert.deepEqual(plan([{ ...anomaly, details: {} }]).changes, [])
})
