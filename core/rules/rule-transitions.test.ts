import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Rule } from '../../schemas/rule.js'
import { activeSet } from './active-set.js'
import { created, duePushes, expired, lifted, MAX_TARGET_ATTEMPTS, pushed } from './rule-transitions.js'

const T0 = Date.parse('2026-11-24T12:00:00Z')
const base: Rule = {
  id: 'rule_1',
  scope: { kind: 'customer', id: 'acme' },
  action: { action: 'block' },
  reason: { kind: 'manual', by: 'alice', why: 'runaway batch job' },
  mode: 'enforce',
  state: 'pending',
  created_at: T0,
  updated_at: T0,
  expires_at: T0 + 900_000,
  ended_by: null,
  targets: [],
}
const ok = { ok: true as const, answer: '200' }
const fail = (retryable: boolean) => ({
  ok: false as const,
  retryable,
  code: 'X',
  message: 'boom',
  answer: '503',
})
const two = created(
  base,
  [
    { name: 'a', supports: true },
    { name: 'b', supports: true },
  ],
  'manual:alice',
  T0,
).rule

test('pushes: pending until every target applied; a retryable failure stays owed; a final one fails that target', () => {
  assert.equal(two.state, 'pending')
  assert.deepEqual(duePushes(two), [
    { target: 'a', op: 'apply' },
    { target: 'b', op: 'apply' },
  ])
  const aOk = pushed(two, 'a', 'apply', ok, T0 + 1).rule
  assert.equal(aOk.state, 'pending')
  const bRetry = pushed(aOk, 'b', 'apply', fail(true), T0 + 2)
  assert.equal(bRetry.rule.state, 'pending')
  assert.equal(bRetry.event.kind, 'apply_failed')
  assert.equal(bRetry.event.answer, '503')
  assert.deepEqual(duePushes(bRetry.rule), [{ target: 'b', op: 'apply' }])
  const bOk = pushed(bRetry.rule, 'b', 'apply', ok, T0 + 3).rule
  assert.equal(bOk.state, 'active')
  assert.deepEqual(
    bOk.targets.map((t) => [t.target, t.state, t.attempts]),
    [
      ['a', 'applied', 1],
      ['b', 'applied', 2],
    ],
  )
  const bFinal = pushed(aOk, 'b', 'apply', fail(false), T0 + 2).rule
  assert.equal(bFinal.state, 'active', 'one target holds it')
  assert.equal(bFinal.targets[1]!.state, 'failed')
  const allFailed = pushed(
    pushed(two, 'a', 'apply', fail(false), T0).rule,
    'b',
    'apply',
    fail(false),
    T0,
  ).rule
  assert.equal(allFailed.state, 'failed')
})

test('a retryable failure is given up after MAX_TARGET_ATTEMPTS', () => {
  let r = two
  for (let i = 0; i < MAX_TARGET_ATTEMPTS; i++) r = pushed(r, 'a', 'apply', fail(true), T0 + i).rule
  assert.equal(r.targets[0]!.state, 'failed')
  assert.equal(r.targets[0]!.attempts, MAX_TARGET_ATTEMPTS)
})

test('lift and expiry: targets that hold the rule owe a removal; removal done, nothing owed', () => {
  const applied = pushed(pushed(two, 'a', 'apply', ok, T0).rule, 'b', 'apply', ok, T0).rule
  const l = lifted(applied, 'manual:bob', T0 + 10)
  assert.equal(l.rule.state, 'lifted')
  assert.equal(l.event.actor, 'manual:bob')
  assert.deepEqual(duePushes(l.rule), [
    { target: 'a', op: 'remove' },
    { target: 'b', op: 'remove' },
  ])
  const removedA = pushed(l.rule, 'a', 'remove', ok, T0 + 11)
  assert.equal(removedA.event.kind, 'removed')
  assert.equal(removedA.rule.state, 'lifted')
  const removed = pushed(removedA.rule, 'b', 'remove', ok, T0 + 12).rule
  assert.deepEqual(duePushes(removed), [])
  const e = expired(applied, T0 + 900_000)
  assert.equal(e.rule.state, 'expired')
  assert.equal(e.rule.ended_by, 'expiry')
  assert.equal(e.event.kind, 'expired')
  // lifted before any target applied it: nothing to remove
  assert.deepEqual(duePushes(lifted(two, 'manual:bob', T0).rule), [])
})

test('dry-run rules are never pushed', () => {
  const dry = created({ ...base, mode: 'dry_run' }, [{ name: 'a', supports: true }], 'x', T0).rule
  assert.deepEqual(duePushes(dry), [])
  assert.equal(dry.targets[0]!.state, 'skipped')
})

test('activeSet: enforced rules in force and not expired, blocks first; version changes with the set', () => {
  const block = { ...base, id: 'r-block', state: 'active' as const, created_at: T0 + 5 }
  const down: Rule = {
    ...base,
    id: 'r-down',
    state: 'active',
    action: { action: 'downgrade', map: { '*': 'gpt-4o-mini' } },
  }
  const dry: Rule = { ...block, id: 'r-dry', mode: 'dry_run' }
  const ended: Rule = { ...block, id: 'r-ended', state: 'lifted' }
  const old: Rule = { ...block, id: 'r-old', expires_at: T0 }
  const set = activeSet([down, dry, ended, old, block], T0 + 10)
  assert.deepEqual(
    set.rules.map((r) => r.id),
    ['r-block', 'r-down'],
  )
  assert.equal(set.rules[0]!.reason, 'manual rule by alice: runaway batch job')
  assert.equal(activeSet([block, down], T0 + 10).version, set.version, 'same set, same version')
  assert.notEqual(activeSet([down], T0 + 10).version, set.version)
  assert.match(set.version, /^"[0-9a-f]{16}"$/)
})
