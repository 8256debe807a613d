import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Alert, Notification } from './alert.js'
import { channelNames } from './channel-name.js'
import {
  initialDispatchState,
  planDispatch,
  type DispatchConfig,
  type DispatchState,
} from './dispatch-plan.js'
import type { DetectorType } from '../detectors/finding.js'
import type { Severity } from '../../schemas/policy.js'

const t0 = Date.parse('2026-11-24T12:00:00Z')
const S = 1000
const M = 60 * S
const H = 60 * M
const cfg: DispatchConfig = {
  channels: ['email', 'slack', 'pagerduty'],
  group_window: 30 * S,
  renotify: 4 * H,
  max_per_channel_per_hour: 60,
}

function alert(id: string, over: Partial<Alert> = {}): Alert {
  return {
    id,
    dedupe_key: `loop|key:${id}`,
    type: 'loop',
    severity: 'ticket',
    state: 'firing',
    scope: { kind: 'key', id },
    started_at: t0,
    resolved_at: null,
    updated_at: t0,
    summary: `key ${id} loops`,
    details: {},
    links: {},
    ...over,
  }
}
const resolved = (a: Alert, at: number): Alert => ({
  ...a,
  state: 'resolved',
  resolved_at: at,
  updated_at: at,
})

/** Drives the planner like the service does, persisting the state as JSON between steps. */
function driver(config: DispatchConfig = cfg) {
  let state: DispatchState = initialDispatchState()
  return {
    step(now: number, changes: Alert[] = []) {
      const plan = planDispatch(state, changes, config, now)
      state = JSON.parse(JSON.stringify(plan.state)) as DispatchState
      assert.deepEqual(state, plan.state, 'state survives JSON')
      return plan
    },
    get state() {
      return state
    },
  }
}
const brief = (ns: Notification[]) =>
  ns.map((n) => `${n.channel}:${n.kind}:${n.alerts.map((a) => a.id).join(',')}`)

test('500 keys looping at once: one notification per channel', () => {
  const d = driver()
  const keys = Array.from({ length: 500 }, (_, i) =>
    alert(`k${i}`, { started_at: t0 + i * 10, updated_at: t0 + i * 10 }),
  )
  // they arrive over 5 s, in five detector ticks
  for (let tick = 0; tick < 5; tick++) {
    const p = d.step(t0 + tick * S, keys.slice(tick * 100, tick * 100 + 100))
    assert.equal(p.notifications.length, 0, 'the group window is open')
    assert.equal(p.wake_at, t0 + 30 * S)
  }
  assert.equal(d.step(t0 + 30 * S - 1).notifications.length, 0)
  const p = d.step(t0 + 30 * S)
  assert.deepEqual(
    p.notifications.map((n) => [n.channel, n.kind, n.alerts.length, n.created_at]),
    cfg.channels.map((c) => [c, 'firing', 500, t0 + 30 * S]),
  )
  assert.deepEqual(
    p.notifications[0]!.alerts.map((a) => a.id),
    keys.map((a) => a.id),
  )
  assert.equal(new Set(p.notifications.map((n) => n.id)).size, 3, 'one id per channel')
  assert.equal(p.wake_at, t0 + 30 * S + 4 * H, 'next: the renotify')
  // the detectors keep reporting them firing: no news
  assert.equal(d.step(t0 + 60 * S, keys).notifications.length, 0)
})

test('groups split by type and severity and by firing/resolved', () => {
  const d = driver({ ...cfg, channels: ['slack'] })
  const a = alert('a')
  const b = alert('b', { severity: 'page' })
  const c = alert('c', { type: 'burn_rate' })
  d.step(t0, [a, b, c])
  assert.deepEqual(brief(d.step(t0 + 30 * S).notifications), [
    'slack:firing:a',
    'slack:firing:b',
    'slack:firing:c',
  ])
  d.step(t0 + M, [resolved(a, t0 + M), resolved(b, t0 + M)])
  assert.deepEqual(brief(d.step(t0 + M + 30 * S).notifications), ['slack:resolved:a', 'slack:resolved:b'])
})

test('renotify cadence: every `renotify` while firing, then resolved once, then silence', () => {
  const d = driver({ ...cfg, channels: ['email'] })
  const a = alert('a')
  const timeline: Array<{ at: number; changes?: Alert[]; want: string[] }> = [
    { at: t0, changes: [a], want: [] },
    { at: t0 + 30 * S, want: ['email:firing:a'] },
    { at: t0 + 30 * S + 4 * H - 1, want: [] },
    { at: t0 + 30 * S + 4 * H, want: ['email:renotify:a'] },
    { at: t0 + 30 * S + 6 * H, want: [] },
    { at: t0 + 30 * S + 8 * H, want: ['email:renotify:a'] },
    { at: t0 + 9 * H, changes: [resolved(a, t0 + 9 * H)], want: [] },
    { at: t0 + 9 * H + 30 * S, want: ['email:resolved:a'] },
    { at: t0 + 30 * S + 12 * H, want: [] },
    { at: t0 + 30 * S + 40 * H, want: [] },
  ]
  for (const s of timeline)
    assert.deepEqual(brief(d.step(s.at, s.changes).notifications), s.want, `at +${(s.at - t0) / S}s`)
  assert.equal(d.step(t0 + 50 * H).wake_at, null)
})

test('renotify aligns a trickling incident: one reminder per group, none sooner than renotify / 2', () => {
  const d = driver({ ...cfg, channels: ['email'] })
  d.step(t0, [alert('a')])
  d.step(t0 + 30 * S) // a announced
  d.step(t0 + 50 * S, [alert('b')])
  d.step(t0 + 80 * S) // b announced 50 s later
  d.step(t0 + 3 * H, [alert('c')])
  d.step(t0 + 3 * H + 30 * S) // c announced 3 h later
  d.step(t0 + 3 * H, [alert('z', { type: 'zombie_agent' })])
  d.step(t0 + 3 * H + 30 * S) // another group
  const timeline: Array<[number, string[]]> = [
    [t0 + 30 * S + 4 * H - 1, []],
    [t0 + 30 * S + 4 * H, ['email:renotify:a,b']],
    [t0 + 80 * S + 4 * H, []],
    // a and b were reminded 3 h ago (>= renotify / 2): they join c, and the group is aligned from now on
    [t0 + 3 * H + 30 * S + 4 * H, ['email:renotify:a,b,c', 'email:renotify:z']],
    [t0 + 30 * S + 8 * H, []],
    [t0 + 3 * H + 30 * S + 8 * H, ['email:renotify:a,b,c', 'email:renotify:z']],
  ]
  for (const [at, want] of timeline)
    assert.deepEqual(brief(d.step(at).notifications), want, `at +${(at - t0) / S}s`)
})

test('latest change wins within the window: fire+resolve = one resolved; severity change = news', () => {
  const d = driver({ ...cfg, channels: ['slack'] })
  const a = alert('a')
  d.step(t0, [a])
  d.step(t0 + 10 * S, [resolved(a, t0 + 10 * S)])
  assert.deepEqual(brief(d.step(t0 + 40 * S).notifications), ['slack:resolved:a'])

  const b = alert('b')
  d.step(t0 + M, [b])
  d.step(t0 + M + 30 * S)
  d.step(t0 + 2 * M, [{ ...b, summary: 'still looping', updated_at: t0 + 2 * M }])
  assert.deepEqual(brief(d.step(t0 + 3 * M).notifications), [], 'same severity: no news')
  d.step(t0 + 4 * M, [{ ...b, severity: 'page', updated_at: t0 + 4 * M }])
  const p = d.step(t0 + 4 * M + 30 * S)
  assert.deepEqual(brief(p.notifications), ['slack:firing:b'])
  assert.equal(p.notifications[0]!.alerts[0]!.severity, 'page')
})

test('rate limit defers (never drops) and later releases everything, merged by group', () => {
  const d = driver({ ...cfg, channels: ['email', 'slack'], max_per_channel_per_hour: 2 })
  const combos: Array<[DetectorType, Severity]> = [
    ['loop', 'ticket'],
    ['loop', 'page'],
    ['burn_rate', 'page'],
    ['zombie_agent', 'info'],
    ['budget_exhaustion', 'ticket'],
  ]
  const first = combos.map(([type, severity], i) => alert(`g${i}`, { type, severity }))
  d.step(t0, first)
  const p1 = d.step(t0 + 30 * S)
  assert.deepEqual(brief(p1.notifications), [
    'email:firing:g0',
    'email:firing:g1',
    'slack:firing:g0',
    'slack:firing:g1',
  ])
  assert.deepEqual(
    p1.deferred.map((x) => [x.channel, x.key, x.not_before]),
    ['email', 'slack'].flatMap((c) =>
      ['firing|burn_rate|page', 'firing|zombie_agent|info', 'firing|budget_exhaustion|ticket'].map((k) => [
        c,
        k,
        t0 + 30 * S + H,
      ]),
    ),
  )
  assert.equal(p1.wake_at, t0 + 30 * S + H)

  // while held back, more of the same group join the queued notification instead of queueing another
  d.step(t0 + 10 * M, [alert('late', { type: 'burn_rate', severity: 'page' })])
  const p2 = d.step(t0 + 10 * M + 30 * S)
  assert.deepEqual(p2.notifications, [])
  assert.deepEqual(
    p2.deferred.filter((x) => x.channel === 'email').map((x) => [x.key, x.alerts]),
    [
      ['firing|burn_rate|page', 2],
      ['firing|zombie_agent|info', 1],
      ['firing|budget_exhaustion|ticket', 1],
    ],
  )

  assert.deepEqual(d.step(t0 + 30 * S + H - 1).notifications, [])
  const p3 = d.step(t0 + 30 * S + H)
  assert.deepEqual(brief(p3.notifications), [
    'email:firing:g2,late',
    'email:firing:g3',
    'slack:firing:g2,late',
    'slack:firing:g3',
  ])
  const p4 = d.step(t0 + 30 * S + 2 * H)
  assert.deepEqual(brief(p4.notifications), ['email:firing:g4', 'slack:firing:g4'])
  assert.deepEqual(p4.deferred, [])

  const delivered = [...p1.notifications, ...p3.notifications, ...p4.notifications]
  for (const ch of ['email', 'slack']) {
    const ids = delivered.filter((n) => n.channel === ch).flatMap((n) => n.alerts.map((a) => a.id))
    assert.deepEqual(ids.sort(), ['g0', 'g1', 'g2', 'g3', 'g4', 'late'], `${ch}: every alert exactly once`)
  }
})

test('deterministic: same input, same plan and ids; the input state is not modified', () => {
  const base = planDispatch(
    initialDispatchState(),
    [alert('a'), alert('b', { type: 'zombie_agent' })],
    cfg,
    t0,
  ).state
  const frozen = JSON.stringify(base)
  const p1 = planDispatch(base, [], cfg, t0 + 30 * S)
  const p2 = planDispatch(base, [], cfg, t0 + 30 * S)
  assert.deepEqual(p1, p2)
  assert.equal(JSON.stringify(base), frozen)
  assert.match(p1.notifications[0]!.id, /^ntf_[0-9a-f]{24}$/)
  assert.equal(new Set(p1.notifications.map((n) => n.id)).size, p1.notifications.length)
})

test('a channel removed from the config loses its queue; group_window 0 sends at once', () => {
  const d = driver({ ...cfg, channels: ['email'], group_window: 0, max_per_channel_per_hour: 1 })
  assert.deepEqual(brief(d.step(t0, [alert('a'), alert('b', { severity: 'page' })]).notifications), [
    'email:firing:a',
  ])
  const p = planDispatch(d.state, [], { ...cfg, channels: ['slack'] }, t0 + 1)
  assert.deepEqual(Object.keys(p.state.channels), [])
})

test('channel names: explicit, by type when unique, numbered otherwise', () => {
  assert.deepEqual(
    channelNames([
      { type: 'email' },
      { type: 'webhook' },
      { type: 'slack', name: 'ops-slack' },
      { type: 'webhook' },
      { type: 'pagerduty' },
    ]),
    ['email', 'webhook-1', 'ops-slack', 'webhook-2', 'pagerduty'],
  )
})
