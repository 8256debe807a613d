import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { Finding } from './finding.js'
import { DAY, detectors, ev, HOUR, MIN, t } from '../../test/support/detector-fixtures.js'
import {
  agentIdentity,
  dormantKey,
  initZombieState,
  offHoursKey,
  rebuildZombieState,
  sessionKey,
  stepZombie,
  tickZombie,
  zombieReplaySince,
  zombieStateFromJSON,
  zombieStateToJSON,
  type ZombieConfig,
  type ZombieState,
} from './zombie.js'

const cfg = detectors().zombie // mon-fri 08:00-19:00 UTC, 20 requests or $1, max_session 2h, dormant 14d
const S = 1000
const NIGHT = t('2026-11-26T22:00:00Z') // Thursday night
const DAYTIME = t('2026-11-26T09:00:00Z')

function feed(
  events: RequestEvent[],
  c: ZombieConfig = cfg,
  state: ZombieState = initZombieState(),
  until?: number,
) {
  const out: Finding[] = []
  const sorted = events
  let next = sorted.length > 0 ? Math.floor(sorted[0]!.ts / 5000) * 5000 + 5000 : 0
  const tickTo = (ts: number) => {
    for (; next <= ts; next += 5000) out.push(...tickZombie(state, c, next).findings)
  }
  for (const e of sorted) {
    tickTo(e.ts)
    const r = stepZombie(state, e, c, Math.max(state.clock, e.ts))
    state = r.state
    out.push(...r.findings)
  }
  if (until !== undefined) tickTo(until)
  return { state, out }
}

/** `n` requests every `gap` ms from `from`, with per-request overrides. */
const series = (
  n: number,
  from: number,
  gap: number,
  p: Partial<RequestEvent> = {},
  jitter?: (i: number) => number,
) =>
  Array.from({ length: n }, (_, i) =>
    ev({ ts: from + i * gap + (jitter ? jitter(i) : 0), cost_usd: 0.001, ...p }),
  )

const table: Array<{ name: string; events: RequestEvent[]; want: string[] }> = [
  {
    name: 'clean: agent working in business hours',
    events: series(200, DAYTIME, 30 * S, { agent: 'crawler' }),
    want: [],
  },
  {
    name: 'clean: customer traffic at night (no agent identity)',
    events: series(500, NIGHT, 5 * S, { customer: 'acme' }),
    want: [],
  },
  {
    name: 'clean: agent, 19 cheap requests at night',
    events: series(19, NIGHT, 60 * S, { agent: 'crawler' }),
    want: [],
  },
  {
    name: 'planted: agent, 20 requests at night',
    events: series(20, NIGHT, 60 * S, { agent: 'crawler' }),
    want: ['firing ' + offHoursKey('crawler')],
  },
  {
    name: 'planted: agent spending $1 at night in 2 requests',
    events: series(2, NIGHT, 60 * S, { agent: 'crawler', cost_usd: 0.5 }),
    want: ['firing ' + offHoursKey('crawler')],
  },
  {
    name: 'planted: a key listed in agent_keys (by alias) is an agent',
    events: series(20, NIGHT, 60 * S, { api_key_alias: 'nightly-batch', api_key_hash: 'h1' }),
    want: ['firing ' + offHoursKey('key:nightly-batch')],
  },
  {
    name: 'clean: 10 requests on each of two off-hours stretches',
    events: [
      ...series(10, NIGHT, MIN, { agent: 'crawler' }),
      ...series(10, NIGHT + DAY, MIN, { agent: 'crawler' }),
    ],
    want: [],
  },
]

for (const c of table) {
  test(`zombie: ${c.name}`, () => {
    const { out } = feed(c.events, { ...cfg, agent_keys: ['nightly-batch'] })
    assert.deepEqual(
      out.filter((f) => f.state === 'firing').map((f) => `${f.state} ${f.dedupe_key}`),
      c.want,
    )
  })
}

test('zombie (a): off-hours finding shows the cadence and resolves when business hours start', () => {
  const { out } = feed(
    series(30, NIGHT, 30 * S, { agent: 'crawler' }),
    cfg,
    initZombieState(),
    t('2026-11-27T08:00:05Z'),
  )
  assert.deepEqual(
    out.map((f) => [f.state, new Date(f.at).toISOString()]),
    [
      ['firing', '2026-11-26T22:09:30.000Z'],
      ['resolved', '2026-11-27T08:00:00.000Z'],
    ],
  )
  const f = out[0]!
  assert.deepEqual(f.scope, { kind: 'agent', id: 'crawler' })
  assert.equal(f.details.which, 'off_hours')
  assert.equal(f.details.requests, 20)
  assert.equal(f.details.requests_per_min, 2)
  assert.equal(f.details.median_gap_s, 30)
  assert.equal(f.details.stretch_end, '2026-11-27T08:00:00.000Z')
  assert.match(
    f.summary,
    /zombie agent crawler works off-hours: 20 requests .* cadence 2 req\/min, median gap 30s/,
  )
  assert.equal(out[1]!.details.requests, 30)
})

test('zombie (a): judged in the business-hours time zone (Paris evening)', () => {
  const paris = { ...cfg, business_hours: { ...cfg.business_hours, timezone: 'Europe/Paris' } }
  // 18:30 UTC = 19:30 Paris (off-hours); the same UTC time is business hours in UTC.
  const events = series(20, t('2026-11-26T18:30:00Z'), 20 * S, { agent: 'crawler' })
  assert.equal(feed(events, paris).out.length, 1)
  assert.equal(feed(events, cfg).out.length, 0)
})

test('zombie (b): a session alive past max_session at a steady cadence', () => {
  const events = series(140, DAYTIME, MIN, { agent: 'poller', session_id: 's-1' }, (i) => (i % 2) * 2 * S)
  const { out } = feed(events, cfg, initZombieState(), DAYTIME + 4 * HOUR)
  assert.deepEqual(
    out.map((f) => [f.state, f.dedupe_key]),
    [
      ['firing', sessionKey('session', 's-1')],
      ['resolved', sessionKey('session', 's-1')],
    ],
  )
  const f = out[0]!
  assert.equal(f.at, DAYTIME + 120 * MIN)
  assert.deepEqual(f.scope, { kind: 'session', id: 's-1' })
  assert.equal(f.details.which, 'long_session')
  assert.equal(f.details.agent, 'poller')
  assert.equal(f.details.requests, 121)
  assert.equal(f.details.requests_per_min, 1)
  assert.equal(f.details.median_gap_s, 60)
  assert.ok((f.details.gap_cv as number) < 0.05)
  assert.match(
    f.summary,
    /keeps session s-1 alive for 2h at a steady cadence: 121 requests, 1 req\/min, median gap 1m/,
  )
  // quiet 15 minutes after the last request: resolved then.
  assert.equal(out[1]!.at, DAYTIME + 139 * MIN + 2 * S + 15 * MIN)
})

test('zombie (b): a long but irregular (human-like) session is not a zombie', () => {
  // gaps alternate 5 s and 115 s: CV about 0.92.
  const events: RequestEvent[] = []
  for (let i = 0, ts = DAYTIME; i < 200; i++, ts += i % 2 ? 5 * S : 115 * S) {
    events.push(ev({ ts, agent: 'assistant', trace_id: 'tr-1' }))
  }
  assert.deepEqual(feed(events).out, [])
})

test('zombie (c): an agent back after dormant_after of silence', () => {
  const events = [ev({ ts: DAYTIME - 15 * DAY, agent: 'old-bot' }), ev({ ts: DAYTIME, agent: 'old-bot' })]
  const { out } = feed(events, cfg, initZombieState(), DAYTIME + 2 * HOUR)
  assert.deepEqual(
    out.map((f) => [f.state, f.dedupe_key, f.at]),
    [
      ['firing', dormantKey('old-bot'), DAYTIME],
      ['resolved', dormantKey('old-bot'), DAYTIME + HOUR],
    ],
  )
  assert.equal(out[0]!.details.silent_days, 15)
  assert.match(out[0]!.summary, /dormant agent old-bot is back after 15d of silence/)
  const short = [ev({ ts: DAYTIME - 13 * DAY, agent: 'old-bot' }), ev({ ts: DAYTIME, agent: 'old-bot' })]
  assert.deepEqual(feed(short).out, [])
})

test('zombie: identity from agent field first, then agent_keys (hash or alias)', () => {
  const c = { ...cfg, agent_keys: ['h-7', 'batch'] }
  assert.equal(agentIdentity(ev({ ts: 0, agent: 'a1', api_key_hash: 'h-7' }), c), 'a1')
  assert.equal(agentIdentity(ev({ ts: 0, api_key_hash: 'h-7' }), c), 'key:h-7')
  assert.equal(agentIdentity(ev({ ts: 0, api_key_hash: 'x', api_key_alias: 'batch' }), c), 'key:batch')
  assert.equal(agentIdentity(ev({ ts: 0, api_key_hash: 'x', customer: 'acme' }), c), '')
})

test('zombie: late events are counted but never fire', () => {
  const { state } = feed(series(10, NIGHT, MIN, { agent: 'crawler' }))
  // ten more from the same stretch, behind the clock
  let s = state
  const out: Finding[] = []
  for (const e of series(10, NIGHT + 5 * S, 50 * S, { agent: 'crawler' })) {
    const r = stepZombie(s, e, cfg, s.clock)
    s = r.state
    out.push(...r.findings)
  }
  assert.deepEqual(out, [])
  assert.equal(s.agents.get('crawler')!.off!.requests, 20)
})

test('zombie: eviction keeps 100k agents and sessions under the caps', () => {
  let s = initZombieState()
  for (let i = 0; i < 100_000; i++) {
    s = stepZombie(s, ev({ ts: DAYTIME + i, agent: `a${i}`, session_id: `s${i}` }), cfg, DAYTIME + i, {
      maxAgents: 1000,
      maxSessions: 500,
    }).state
  }
  assert.ok(s.agents.size <= 1000 && s.agents.size >= 900, `${s.agents.size}`)
  assert.ok(s.sessions.size <= 500 && s.sessions.size >= 450, `${s.sessions.size}`)
})

test('zombie: restart mid-incident from JSON: no duplicate firing, resolution still comes', () => {
  const events = series(40, NIGHT, 30 * S, { agent: 'crawler' })
  const first = feed(events.slice(0, 25))
  assert.equal(first.out.length, 1)
  const back = zombieStateFromJSON(JSON.parse(JSON.stringify(zombieStateToJSON(first.state))))
  const { out } = feed(events.slice(25), cfg, back, t('2026-11-27T08:00:05Z'))
  assert.deepEqual(
    out.map((f) => [f.state, f.details.requests]),
    [['resolved', 40]],
  )
})

test('zombie: rebuilt from recent events, last-seen seeds and open keys', () => {
  const events = series(40, NIGHT, 30 * S, { agent: 'crawler' })
  const now = NIGHT + 30 * MIN
  assert.ok(zombieReplaySince(cfg, now) <= t('2026-11-26T19:00:00Z'))
  const open = new Set([offHoursKey('crawler'), dormantKey('ghost')])
  const r = rebuildZombieState(events, cfg, { open, now, lastSeen: [['crawler', NIGHT - 2 * DAY]] })
  // the off-hours alert goes on silently; the dormant notice for an agent the replay never saw resolves
  assert.deepEqual(
    r.findings.map((f) => [f.state, f.dedupe_key]),
    [['resolved', dormantKey('ghost')]],
  )
  const later = feed([], cfg, r.state)
  assert.deepEqual(later.out, [])
  const end = tickZombie(r.state, cfg, t('2026-11-27T08:00:00Z'))
  assert.deepEqual(
    end.findings.map((f) => [f.state, f.dedupe_key]),
    [['resolved', offHoursKey('crawler')]],
  )
})
