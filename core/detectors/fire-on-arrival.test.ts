import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { Finding } from './finding.js'
import { DetectorRunner, type DetectorPolicy, type RunnerOptions } from './runner.js'
import { runDetectors } from './run-detectors.js'
import { detectors, ev, MIN, prng, t } from '../../test/support/detector-fixtures.js'

// Fire on arrival: no timers, no wall clock; "arrival" is the push, time is event time (and `advance`).
const S = 1000
const policy: DetectorPolicy = { budgets: [], detectors: detectors() } // tick 5s, lateness 5s, loop 5 in 60s
const live = { fireOnArrival: true }
const T0 = t('2026-11-26T12:00:00Z') // a Thursday, business hours (UTC)

const brief = (fs: readonly Finding[]) => fs.map((f) => `${f.state} ${f.dedupe_key}`)
/** Findings in one canonical order, to compare two runs whatever the moment each finding came out. */
const canonical = (fs: readonly Finding[]) =>
  [...fs].sort((a, b) =>
    `${a.dedupe_key} ${a.at} ${a.state}` < `${b.dedupe_key} ${b.at} ${b.state}` ? -1 : 1,
  )

const rep = (i: number, p: Partial<RequestEvent> = {}) =>
  ev({
    event_id: `r${i}`,
    ts: T0 + i * S,
    api_key_hash: 'k1',
    fingerprint: 'fp-a',
    cost_usd: 0.01,
    ...p,
  })

/** Pushes events one by one; returns what each push returned and everything until `until`. */
function arrive(events: readonly RequestEvent[], until: number, opts: RunnerOptions = live) {
  const r = new DetectorRunner(policy, opts)
  const perPush = events.map((e) => r.push(e))
  const all = [...perPush.flat(), ...r.flush(), ...r.tickUntil(until)]
  return { r, perPush, all }
}

test('fire on arrival: the 5th repeat fires on its own arrival; the ordered runner waits for the watermark', () => {
  const events = [0, 1, 2, 3, 4].map((i) => rep(i))
  const early = arrive(events, T0 + 10 * MIN)
  assert.deepEqual(brief(early.perPush[4]!), ['firing loop:key:k1:fp:fp-a'])
  assert.deepEqual(early.perPush.slice(0, 4).flat(), [])
  const ordered = arrive(events, T0 + 10 * MIN, {})
  assert.deepEqual(ordered.perPush.flat(), []) // still behind the 5 s watermark
  // same findings, same numbers; only the moment differs
  assert.deepEqual(canonical(early.all), canonical(ordered.all))
  assert.deepEqual(brief(early.all), ['firing loop:key:k1:fp:fp-a', 'resolved loop:key:k1:fp:fp-a'])
  assert.equal(early.r.stats.early, 1)
})

test('fire on arrival: out of order within lateness, it fires when the pattern is complete, once; a later straggler adds to it', () => {
  // arrival order 0 1 2 4 3: the pattern is complete when 3 arrives
  const order = [0, 1, 2, 4, 3].map((i) => rep(i))
  const r = new DetectorRunner(policy, live)
  const perPush = order.map((e) => r.push(e))
  assert.deepEqual(perPush.slice(0, 4).flat(), [])
  const fired = perPush[4]!
  assert.deepEqual(brief(fired), ['firing loop:key:k1:fp:fp-a'])
  assert.equal(fired[0]!.details.repeats, 5)
  assert.equal(fired[0]!.details.since, new Date(T0).toISOString())
  assert.equal(fired[0]!.at, T0 + 4 * S) // when the 5th repeat happened, not when it arrived
  // a repeat from before the first one, still within lateness: counted in the open incident, no new firing
  const straggler = r.push(rep(-1, { event_id: 'r-1' }))
  const rest = [...r.advance(T0 + 10 * MIN), ...r.flush()]
  assert.deepEqual(brief([...straggler, ...rest]), ['resolved loop:key:k1:fp:fp-a'])
  const resolved = rest.find((f) => f.state === 'resolved')!
  assert.equal(resolved.details.repeats, 6)
  assert.equal(resolved.details.cost_usd, 0.06)
  assert.equal(r.stats.late, 0)
  assert.equal(r.stats.unconfirmed ?? 0, 0)
})

test('fire on arrival: the planted-incident stream shuffled within lateness fires each incident once, like the ordered runner', () => {
  const events: RequestEvent[] = []
  for (let i = 0; i < 8; i++) events.push(rep(i * 4, { event_id: `loop-${i}` }))
  const night = t('2026-11-26T22:00:00Z')
  for (let i = 0; i < 30; i++)
    events.push(
      ev({ event_id: `night-${i}`, ts: night + i * 30 * S, agent: 'night-crawler', fingerprint: `n${i}` }),
    )
  for (let i = 0; i < 2000; i++)
    events.push(
      ev({ event_id: `bg-${i}`, ts: T0 + i * 45 * S, api_key_hash: `k${i % 50}`, fingerprint: `f${i}` }),
    )
  events.sort((a, b) => a.ts - b.ts)
  const until = t('2026-11-28T00:00:00Z')
  const ordered = runDetectors(events, policy, { until })
  const rnd = prng(11)
  const shuffled = events
    .map((e) => ({ e, arrival: e.ts + Math.floor(rnd() * policy.detectors.allowed_lateness) }))
    .sort((a, b) => a.arrival - b.arrival)
    .map((x) => x.e)
  for (const input of [events, shuffled]) {
    const { r, all } = arrive(input, until)
    assert.deepEqual([...new Set(brief(all))].sort(), [...new Set(brief(ordered))].sort())
    for (const key of new Set(all.map((f) => f.dedupe_key)))
      assert.deepEqual(
        all.filter((f) => f.dedupe_key === key).map((f) => f.state),
        ['firing', 'resolved'],
        key,
      )
    assert.equal(r.stats.early, 2) // the loop and the off-hours agent, both on arrival
    assert.equal(r.stats.unconfirmed ?? 0, 0)
    assert.equal(r.stats.late, 0)
  }
  // in order, the findings are exactly the ordered runner's
  assert.deepEqual(canonical(arrive(events, until).all), canonical(ordered))
})

test('fire on arrival: an agent at night fires on the event that crosses min_requests', () => {
  const night = t('2026-11-26T22:00:00Z')
  const events = Array.from({ length: 25 }, (_, i) =>
    ev({ event_id: `n${i}`, ts: night + i * 30 * S, agent: 'night-crawler', fingerprint: `n${i}` }),
  )
  const { perPush } = arrive(events, night + 2 * 3_600_000)
  const at = perPush.findIndex((fs) => fs.length > 0)
  assert.equal(at, 19) // the 20th request (min_requests 20)
  assert.deepEqual(brief(perPush[19]!), ['firing zombie_agent:off_hours:night-crawler'])
  assert.equal(perPush[19]![0]!.details.requests, 20)
})

test('fire on arrival: a steady session fires on the event that makes it max_session old', () => {
  // business hours, one request a minute, the same session: 2 h old at the 121st request
  const events = Array.from({ length: 130 }, (_, i) =>
    ev({
      event_id: `s${i}`,
      ts: t('2026-11-26T09:00:00Z') + i * MIN,
      agent: 'cron-bot',
      session_id: 'sess-1',
      fingerprint: `s${i}`,
    }),
  )
  const { perPush, all } = arrive(events, t('2026-11-26T14:00:00Z'))
  assert.deepEqual(brief(perPush[120]!), ['firing zombie_agent:long_session:session:sess-1'])
  assert.deepEqual(perPush.slice(0, 120).flat(), [])
  const ordered = arrive(events, t('2026-11-26T14:00:00Z'), {})
  assert.deepEqual(ordered.perPush[120], []) // ordered: released by the next event, a minute later
  assert.deepEqual(canonical(all), canonical(ordered.all))
})

test('fire on arrival: a restart from JSON between the early firing and the watermark neither re-fires nor loses it', () => {
  const events = [0, 1, 2, 3, 4, 5].map((i) => rep(i))
  const r = new DetectorRunner(policy, live)
  const first = events.slice(0, 5).flatMap((e) => r.push(e))
  assert.deepEqual(brief(first), ['firing loop:key:k1:fp:fp-a'])
  const json = JSON.parse(JSON.stringify(r.toJSON())) as ReturnType<DetectorRunner['toJSON']>
  assert.equal(json.announced?.length, 1)
  const back = DetectorRunner.fromJSON(json, policy, live)
  const rest = [...back.push(events[5]!), ...back.advance(T0 + 10 * MIN), ...back.flush()]
  assert.deepEqual(brief(rest), ['resolved loop:key:k1:fp:fp-a'])
  assert.equal(rest[0]!.details.repeats, 6)
})

test('fire on arrival: an announced session firing a late event makes unsteady is resolved once, as unconfirmed', () => {
  // 121 steady requests: the session fires on arrival of the last one; then, before the watermark passes
  // it, a burst of requests inside the session (late but within lateness) makes the cadence irregular
  const base = t('2026-11-26T09:00:00Z')
  const events = Array.from({ length: 121 }, (_, i) =>
    ev({
      event_id: `s${i}`,
      ts: base + i * MIN,
      agent: 'cron-bot',
      session_id: 'sess-1',
      fingerprint: `s${i}`,
    }),
  )
  const r = new DetectorRunner(policy, live)
  const fired = events.flatMap((e) => r.push(e))
  assert.deepEqual(brief(fired), ['firing zombie_agent:long_session:session:sess-1'])
  const last = events[120]!.ts
  const burst: Finding[] = []
  // jittered gaps only: the last 64 gaps of the ordered evaluation are no longer steady
  const rnd = prng(3)
  for (let i = 0; i < 70; i++)
    burst.push(
      ...r.push(
        ev({
          event_id: `b${i}`,
          ts: last - 4 * S + Math.floor(rnd() * 4 * S),
          agent: 'cron-bot',
          session_id: 'sess-1',
          fingerprint: `b${i}`,
        }),
      ),
    )
  const rest = [...burst, ...r.advance(last + 30 * S), ...r.flush(), ...r.tickUntil(last + 3 * 3_600_000)]
  const states = rest.filter((f) => f.dedupe_key === 'zombie_agent:long_session:session:sess-1')
  // the ordered evaluation, with the burst in, never sees a steady 2 h session: one resolution, unconfirmed
  assert.deepEqual(
    states.map((f) => [f.state, f.details.reason ?? null]),
    [['resolved', 'unconfirmed']],
  )
  assert.equal(r.stats.unconfirmed, 1)
})
