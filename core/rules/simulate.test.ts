import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DetectorRunner } from '../detectors/runner.js'
import { buildPriceTable } from '../pricing.js'
import { DetectorsConfig } from '../../schemas/policy.js'
import { eventDefaults, type RequestEvent } from '../../schemas/request-event.js'
import { EnforcementSimulator } from './simulate.js'
import type { RulePolicy } from './rule-from-alert.js'

const T0 = Date.parse('2026-11-24T12:00:00Z')
const S = 1000
const prices = buildPriceTable({}, { 'gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 } })
const ev = (i: number, p: Partial<RequestEvent> = {}): RequestEvent => ({
  ...eventDefaults(),
  event_id: `e${i}`,
  ts: T0 + i * S,
  end_ts: T0 + i * S,
  duration_ms: 0,
  source: 'litellm_http',
  api_key_hash: 'k1',
  model_requested: 'gpt-4o',
  model: 'gpt-4o',
  fingerprint: 'fp-same',
  input_tokens: 1000,
  output_tokens: 1000,
  cost_usd: 0.0125, // gpt-4o: $2.5 + $10 per Mtok
  ...p,
})
const policy = (mode: RulePolicy['enforcement']['mode'], downgradeTtl = 3_600_000): RulePolicy => ({
  enforcement: {
    mode,
    ttl: { downgrade: downgradeTtl, block: 900_000 },
    lift_on_resolve: true,
    gateway_models: [],
  },
})

function simulate(events: RequestEvent[], action: object, p: RulePolicy) {
  const detectors = DetectorsConfig.parse({
    allowed_lateness: '0s',
    tick: '1s',
    loop: { threshold: 5, window: '60s', scope: ['key'], action },
  })
  const runner = new DetectorRunner({ budgets: [], detectors })
  const sim = new EnforcementSimulator(p, prices)
  for (const e of events) {
    sim.onFindings(runner.push(e))
    sim.onEvent(e)
  }
  sim.onFindings(runner.flush())
  const end = events.at(-1)!.ts + 10 * 60 * S
  sim.onFindings(runner.tickUntil(end))
  return sim.report(end)
}

test('a loop downgraded after its 5th call: the later calls are re-priced, the rule is lifted when the loop ends', () => {
  const events = Array.from({ length: 10 }, (_, i) => ev(i))
  const r = simulate(events, { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } }, policy('enforce'))
  assert.equal(r.rules.length, 1)
  const s = r.rules[0]!
  assert.deepEqual(s.rule.scope, { kind: 'key', id: 'k1' })
  assert.equal(s.calls, 5, 'calls 6 to 10 come after the rule')
  assert.equal(s.downgraded, 5)
  const mini = (1000 * 0.15 + 1000 * 0.6) / 1e6
  assert.equal(s.saved_usd, Math.round(5 * (0.0125 - mini) * 1e8) / 1e8)
  assert.equal(s.rule.state, 'lifted')
  assert.equal(s.rule.ended_by, 'alert_resolved')
  // fired at the 5th call (T0+4s), resolved one window after the last call (T0+9s+60s)
  assert.equal(s.held_ms, 65 * S)
  assert.equal(r.totals.saved_usd, s.saved_usd)
})

test('a block counts the calls it stops as avoided; a short TTL ends the rule before the loop', () => {
  const events = Array.from({ length: 30 }, (_, i) => ev(i))
  const block = simulate(events, { action: 'block' }, policy('off'))
  assert.equal(block.rules[0]!.blocked, 25)
  assert.equal(block.rules[0]!.saved_usd, Math.round(25 * 0.0125 * 1e8) / 1e8)
  assert.equal(block.rules[0]!.rule.mode, 'dry_run', 'a simulation never enforces')
  const short = simulate(
    events,
    { action: 'downgrade', map: { '*': 'gpt-4o-mini' } },
    policy('enforce', 10 * S),
  )
  const s = short.rules[0]!
  assert.equal(s.rule.state, 'expired')
  assert.equal(s.held_ms, 10 * S)
  assert.equal(
    s.calls,
    9,
    'calls after the rule (made at T0+4s) and before its expiry (T0+14s): T0+5s..T0+13s',
  )
})

test('other scopes and unpriced targets', () => {
  const events = [...Array.from({ length: 8 }, (_, i) => ev(i)), ev(9, { api_key_hash: 'other' })]
  const r = simulate(events, { action: 'downgrade', map: { 'gpt-4o': 'no-such-model' } }, policy('enforce'))
  const s = r.rules[0]!
  assert.equal(s.calls, 3, 'the other key is not in scope')
  assert.equal(s.unpriced, 3)
  assert.equal(s.saved_usd, 0)
})

test('with the detectors resolve_after, a loop that pauses and resumes within it is one rule, lifted once clear for that long', () => {
  const detectors = DetectorsConfig.parse({
    allowed_lateness: '0s',
    tick: '1s',
    loop: { threshold: 5, window: '60s', scope: ['key'], action: { action: 'block' } },
  })
  // two bursts of 6 calls, 2 minutes apart: the loop resolves between them (a window with no repeat)
  const events = [
    ...Array.from({ length: 6 }, (_, i) => ev(i)),
    ...Array.from({ length: 6 }, (_, i) => ev(120 + i)),
  ]
  const run = (resolveAfter?: () => number) => {
    const runner = new DetectorRunner({ budgets: [], detectors })
    const sim = new EnforcementSimulator(policy('enforce'), prices, 0, resolveAfter)
    for (const e of events) {
      sim.onFindings(runner.push(e))
      sim.onEvent(e)
    }
    sim.onFindings(runner.flush())
    const end = T0 + 30 * 60 * S
    sim.onFindings(runner.tickUntil(end))
    return sim.report(end)
  }
  assert.equal(run().rules.length, 2, 'resolutions at once: two incidents, two rules')
  const held = run(() => 5 * 60 * S)
  assert.equal(held.rules.length, 1, 'one incident, one rule')
  const r = held.rules[0]!
  assert.equal(r.rule.state, 'lifted')
  // the second burst's last call at 125 s; the loop clears a window later; lifted 5 minutes after that
  assert.ok(
    r.ended_at! >= T0 + (125 + 60 + 300) * S && r.ended_at! <= T0 + (125 + 60 + 300 + 2) * S,
    `${r.ended_at! - T0}`,
  )
  assert.equal(r.blocked, 1 + 6, "the first burst's 6th call, and the whole second burst: the rule stayed")
})
