import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { Finding } from './finding.js'
import { DetectorRunner, type DetectorPolicy } from './runner.js'
import { runDetectors } from './run-detectors.js'
import { syntheticCleanStream, syntheticPolicy } from '../../test/support/synthetic-stream.js'
import { byEventTime } from './restore.js'
import { ev, HOUR, MIN, prng, t } from '../../test/support/detector-fixtures.js'
import { zombieReplaySince } from './zombie.js'

const S = 1000
const PER_DAY = 10_000
const policy = syntheticPolicy({ perDay: PER_DAY })
const clean = (): RequestEvent[] => [...syntheticCleanStream({ events: 20_000, perDay: PER_DAY })] // Mon 00:00 .. Wed 00:00 UTC

/** Planted: a loop on one key, an agent at night, a customer blowing its daily budget. */
function planted(): RequestEvent[] {
  const out: RequestEvent[] = []
  const loopAt = t('2026-11-02T10:00:00Z')
  for (let i = 0; i < 8; i++) {
    out.push(
      ev({
        event_id: `loop-${i}`,
        ts: loopAt + i * 4 * S,
        api_key_hash: 'cust-7-key-0',
        customer: 'cust-7',
        fingerprint: 'stuck-prompt',
        cost_usd: 0.005,
      }),
    )
  }
  const nightAt = t('2026-11-02T22:00:00Z')
  for (let i = 0; i < 30; i++) {
    out.push(
      ev({
        event_id: `night-${i}`,
        ts: nightAt + i * 30 * S,
        agent: 'night-crawler',
        fingerprint: `n${i}`,
        cost_usd: 0.001,
      }),
    )
  }
  const whaleAt = t('2026-11-02T14:00:00Z')
  for (let i = 0; i < 25; i++) {
    out.push(
      ev({
        event_id: `whale-${i}`,
        ts: whaleAt + i * 20 * S,
        customer: 'whale',
        fingerprint: `w${i}`,
        cost_usd: 1,
      }),
    )
  }
  return [...clean(), ...out].sort(byEventTime)
}

const brief = (fs: Finding[]) => fs.map((f) => `${f.state} ${f.dedupe_key}`)

test('runner: a clean synthetic stream of 200k events raises nothing', () => {
  // its speed is measured by `npm run bench`, never asserted here (a loaded CI machine would flake)
  const findings = runDetectors(syntheticCleanStream({ events: 200_000 }), syntheticPolicy())
  assert.deepEqual(brief(findings), [])
})

test('runner: planted incidents fire, with the right numbers, and nothing else does', () => {
  const findings = runDetectors(planted(), policy, { until: t('2026-11-04T00:00:00Z') })
  const firing = [...new Set(brief(findings.filter((f) => f.state === 'firing')))].sort()
  assert.deepEqual(firing, [
    'firing budget_exhaustion:customer-daily:forecast:customer:whale',
    'firing budget_exhaustion:customer-daily:threshold:0.8:customer:whale',
    'firing budget_exhaustion:customer-daily:threshold:1:customer:whale',
    'firing burn_rate:customer-daily:page:customer:whale',
    'firing burn_rate:customer-daily:ticket:customer:whale',
    'firing loop:key:cust-7-key-0:fp:stuck-prompt',
    'firing zombie_agent:off_hours:night-crawler',
  ])
  // every incident fires once and resolves once
  for (const key of new Set(findings.map((f) => f.dedupe_key))) {
    assert.deepEqual(
      findings.filter((f) => f.dedupe_key === key).map((f) => f.state),
      ['firing', 'resolved'],
      key,
    )
  }
  const get = (key: string, state = 'firing') =>
    findings.find((f) => f.dedupe_key === key && f.state === state)!
  const loop = get('loop:key:cust-7-key-0:fp:stuck-prompt')
  assert.equal(loop.details.repeats, 5)
  assert.equal(loop.at, t('2026-11-02T10:00:16Z'))
  assert.equal(get('loop:key:cust-7-key-0:fp:stuck-prompt', 'resolved').details.cost_usd, 0.04)
  const night = get('zombie_agent:off_hours:night-crawler')
  assert.equal(night.details.requests, 20)
  assert.equal(night.details.median_gap_s, 30)
  assert.equal(get('zombie_agent:off_hours:night-crawler', 'resolved').at, t('2026-11-03T08:00:00Z'))
  const exhausted = get('budget_exhaustion:customer-daily:threshold:1:customer:whale')
  assert.equal(exhausted.severity, 'page')
  assert.equal(
    get('budget_exhaustion:customer-daily:threshold:1:customer:whale', 'resolved').at,
    t('2026-11-03T00:00:00Z'),
  )
  const page = get('burn_rate:customer-daily:page:customer:whale')
  assert.ok((page.details.burn_rate_short as number) > 14.4)
})

test('runner: events out of order within allowed_lateness give the same findings', () => {
  const events = planted()
  const inOrder = runDetectors(events, policy, { until: t('2026-11-04T00:00:00Z') })
  const rnd = prng(7)
  const lateness = policy.detectors.allowed_lateness
  const shuffled = events
    .map((e) => ({ e, arrival: e.ts + Math.floor(rnd() * lateness) }))
    .sort((a, b) => a.arrival - b.arrival)
    .map((x) => x.e)
  assert.notDeepEqual(
    shuffled.map((e) => e.event_id),
    events.map((e) => e.event_id),
  )
  const r = new DetectorRunner(policy)
  const out: Finding[] = []
  for (const e of shuffled) out.push(...r.push(e))
  out.push(...r.flush(), ...r.tickUntil(t('2026-11-04T00:00:00Z')))
  assert.deepEqual(out, inOrder)
  assert.equal(r.stats.late, 0)
})

test('runner: events later than allowed_lateness are counted but never re-fire a resolved loop', () => {
  const events = planted().filter((e) => e.ts < t('2026-11-02T11:00:00Z'))
  const r = new DetectorRunner(policy)
  const out: Finding[] = []
  for (const e of events) out.push(...r.push(e))
  assert.deepEqual(brief(out), [
    'firing loop:key:cust-7-key-0:fp:stuck-prompt',
    'resolved loop:key:cust-7-key-0:fp:stuck-prompt',
  ])
  const loopAt = t('2026-11-02T10:00:00Z')
  for (let i = 0; i < 10; i++) {
    out.push(
      ...r.push(
        ev({
          event_id: `late-${i}`,
          ts: loopAt + i * S,
          api_key_hash: 'cust-7-key-0',
          fingerprint: 'stuck-prompt',
        }),
      ),
    )
  }
  out.push(...r.flush())
  assert.equal(out.length, 2)
  assert.equal(r.stats.late, 10)
})

test('runner: restart mid-incident from serialised state: no duplicate firing, same findings', () => {
  const events = planted()
  const until = t('2026-11-04T00:00:00Z')
  const whole = runDetectors(events, policy, { until })
  const cut = events.findIndex((e) => e.ts >= t('2026-11-02T22:12:00Z')) // night-crawler alert open, whale exhausted
  const a = new DetectorRunner(policy)
  const out: Finding[] = []
  for (const e of events.slice(0, cut)) out.push(...a.push(e))
  const saved = JSON.parse(JSON.stringify(a.toJSON())) as ReturnType<DetectorRunner['toJSON']>
  const b = DetectorRunner.fromJSON(saved, policy)
  for (const e of events.slice(cut)) out.push(...b.push(e))
  out.push(...b.flush(), ...b.tickUntil(until))
  assert.deepEqual(out, whole)
})

test('runner: restart rebuilt from recent events and open alert keys: no re-firing, later resolution', () => {
  const events = planted()
  const until = t('2026-11-04T00:00:00Z')
  const whole = runDetectors(events, policy, { until })
  const now = t('2026-11-02T22:12:00Z')
  const open = new Set<string>()
  for (const f of whole.filter((x) => x.at <= now)) {
    if (f.state === 'firing') open.add(f.dedupe_key)
    else open.delete(f.dedupe_key)
  }
  assert.ok(open.has('zombie_agent:off_hours:night-crawler'))
  assert.ok(open.has('budget_exhaustion:customer-daily:threshold:1:customer:whale'))
  // In process the ledger needs the budgets' periods (today); the engine reads those sums from the store.
  const since = Math.min(zombieReplaySince(policy.detectors.zombie, now), t('2026-11-02T00:00:00Z'))
  const recent = events.filter((e) => e.ts >= since && e.ts < now)
  const { runner, findings } = DetectorRunner.restore(policy, { events: recent, open, now })
  assert.deepEqual(brief(findings), [])
  const out: Finding[] = []
  for (const e of events.filter((x) => x.ts >= now)) out.push(...runner.push(e))
  out.push(...runner.flush(), ...runner.tickUntil(until))
  assert.deepEqual(brief(out.filter((f) => f.state === 'firing')), [])
  const resolved = new Set(out.filter((f) => f.state === 'resolved').map((f) => f.dedupe_key))
  for (const key of open) assert.ok(resolved.has(key), `${key} never resolved`)
  const resolvedNight = out.find((f) => f.dedupe_key === 'zombie_agent:off_hours:night-crawler')!
  assert.equal(resolvedNight.at, t('2026-11-03T08:00:00Z'))
  assert.equal(resolvedNight.details.requests, 30)
})

test('runner: a budget changed mid-period is re-evaluated against the new limit', () => {
  const base: DetectorPolicy = {
    budgets: [
      { name: 'acme', scope: { customer: 'acme' }, limit_usd: 100, period: 'month', timezone: 'UTC' },
    ],
    detectors: policy.detectors,
  }
  const spend = Array.from({ length: 60 }, (_, i) =>
    ev({ ts: t('2026-11-10T00:00:00Z') + i * HOUR, customer: 'acme', cost_usd: 1 }),
  )
  const before = runDetectors(spend, base)
  assert.ok(brief(before).includes('firing budget_exhaustion:acme:threshold:0.5:customer:acme'))
  // Restart with the limit raised to $1000 (config reload): the open threshold clears, nothing fires.
  const raised: DetectorPolicy = { ...base, budgets: [{ ...base.budgets[0]!, limit_usd: 1000 }] }
  const { runner } = DetectorRunner.restore(raised, {
    events: spend,
    open: new Set(['budget_exhaustion:acme:threshold:0.5:customer:acme']),
    now: spend.at(-1)!.ts + 1,
  })
  const after = [
    ...runner.push(ev({ ts: spend.at(-1)!.ts + HOUR, customer: 'acme', cost_usd: 1 })),
    ...runner.flush(),
    ...runner.tickUntil(spend.at(-1)!.ts + 2 * HOUR),
  ]
  assert.deepEqual(brief(after), ['resolved budget_exhaustion:acme:threshold:0.5:customer:acme'])
})

test('runner: month end in Europe/Paris resolves thresholds at local midnight', () => {
  const p: DetectorPolicy = {
    budgets: [{ name: 'paris', scope: {}, limit_usd: 10, period: 'month', timezone: 'Europe/Paris' }],
    detectors: policy.detectors,
  }
  const events = [
    ev({ ts: t('2026-11-30T20:00:00Z'), cost_usd: 6 }),
    ev({ ts: t('2026-11-30T23:30:00Z'), cost_usd: 1 }),
  ]
  const out = runDetectors(events, p, { until: t('2026-12-01T00:00:00Z') })
  const resolved = out.filter((f) => f.state === 'resolved' && f.details.kind === 'threshold')
  assert.deepEqual(
    resolved.map((f) => [f.dedupe_key, new Date(f.at).toISOString()]),
    [['budget_exhaustion:paris:threshold:0.5:global:', '2026-11-30T23:00:00.000Z']],
  )
  // the 23:30 UTC event is December spend in Paris: a fresh period, no threshold crossed (it does burn fast)
  const december = out.filter((f) => f.state === 'firing' && f.at > t('2026-11-30T23:00:00Z'))
  assert.deepEqual(
    december.map((f) => `${f.type} ${String(f.details.kind ?? f.severity)}`),
    ['burn_rate page', 'budget_exhaustion forecast'],
  )
  assert.equal(december[0]!.details.period_start, '2026-11-30T23:00:00.000Z')
  assert.match(december[1]!.summary, /will exhaust its \$10 monthly budget paris on Dec 1 at 08:42 GMT\+1/)
})

test('runner: state stays bounded with 100k distinct keys, customers, agents and sessions', () => {
  const p: DetectorPolicy = {
    budgets: [{ name: 'each', scope: { customer: '*' }, limit_usd: 100, period: 'day', timezone: 'UTC' }],
    detectors: policy.detectors,
  }
  const r = new DetectorRunner(p, {
    ledger: { maxScopes: 2000 },
    loop: { maxEntries: 5000 },
    zombie: { maxAgents: 1000, maxSessions: 1000 },
  })
  const T0 = t('2026-11-02T10:00:00Z')
  let max = { pending: 0, ledgerScopes: 0, loopEntries: 0, agents: 0, sessions: 0 }
  for (let i = 0; i < 100_000; i++) {
    r.push(
      ev({
        ts: T0 + i * 10,
        customer: `c${i}`,
        api_key_hash: `k${i}`,
        agent: `a${i}`,
        session_id: `s${i}`,
        fingerprint: `f${i}`,
        cost_usd: 0.001,
      }),
    )
    if (i % 1000 === 0) {
      const s = r.sizes()
      max = {
        pending: Math.max(max.pending, s.pending),
        ledgerScopes: Math.max(max.ledgerScopes, s.ledgerScopes),
        loopEntries: Math.max(max.loopEntries, s.loopEntries),
        agents: Math.max(max.agents, s.agents),
        sessions: Math.max(max.sessions, s.sessions),
      }
    }
  }
  assert.ok(max.ledgerScopes <= 2000, JSON.stringify(max))
  assert.ok(max.loopEntries <= 5000, JSON.stringify(max))
  assert.ok(max.agents <= 1000 && max.sessions <= 1000, JSON.stringify(max))
  assert.ok(max.pending <= 3001, JSON.stringify(max)) // 30 s of lateness at one event per 10 ms
  assert.ok(JSON.stringify(r.toJSON()).length < 20_000_000)
  void MIN
})

test('runner: a timestamp far ahead does not make it tick through the years', () => {
  const events = planted().filter((e) => e.ts < t('2026-11-02T10:00:20Z'))
  const r = new DetectorRunner(policy)
  const out: Finding[] = []
  for (const e of events) out.push(...r.push(e))
  assert.deepEqual(brief(out), []) // the loop is behind the watermark still
  out.push(...r.push(ev({ ts: t('2099-01-01T00:00:00Z'), customer: 'skewed' })))
  // what it did, not how long it took: a bounded number of ticks across the jump
  assert.ok(r.stats.ticks < 20_000, `${r.stats.ticks} ticks`)
  // the loop still fires and resolves at its own instants
  assert.deepEqual(
    out.filter((f) => f.type === 'loop').map((f) => [f.state, new Date(f.at).toISOString()]),
    [
      ['firing', '2026-11-02T10:00:16.000Z'],
      ['resolved', '2026-11-02T10:01:16.000Z'],
    ],
  )
})
