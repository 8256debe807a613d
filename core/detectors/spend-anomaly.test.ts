import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { Finding } from './finding.js'
import { DetectorRunner, type DetectorPolicy } from './runner.js'
import { runDetectors } from './run-detectors.js'
import { byEventTime } from './restore.js'
import {
  initSpendAnomalyState,
  rebuildSpendAnomalyState,
  spendAnomalyKey,
  spendAnomalyMinutesRead,
  spendAnomalyReplaySince,
  stepSpendAnomaly,
  storedSpendHistoryFrom,
  tickSpendAnomaly,
  type SpendAnomalyState,
} from './spend-anomaly.js'
import { tierSum } from './spend-buckets.js'
import { ev, DAY, HOUR, MIN, prng, t, detectors } from '../../test/support/detector-fixtures.js'
import { oracleCrossing } from '../../test/support/spend-spikes.js'
import { minuteSpendOf, runFromStore } from '../../test/support/stored-spend.js'

const MONDAY = t('2026-11-02T00:00:00Z')
const WEEK = 7 * DAY

/** Only the spend anomaly detector, at its defaults unless `over` says otherwise. */
function policy(over: Record<string, unknown> = {}): DetectorPolicy {
  return {
    budgets: [],
    detectors: detectors({
      loop: { enabled: false },
      zombie: { enabled: false },
      spend_anomaly: { scopes: [{ customer: '*' }], ...over },
    }),
  }
}

/** Requests per hour of a traffic shape at `ts`. */
type Shape = (ts: number) => number

const hourOf = (ts: number) => Math.floor((ts % DAY) / HOUR)
const dowOf = (ts: number) => (Math.floor(ts / DAY) + 3) % 7 // 0 = Monday
/** A daily wave: `low` requests/h at night, `high` from 09:00 to 18:00, half-way in between. */
const diurnal =
  (low: number, high: number): Shape =>
  (ts) => {
    const h = hourOf(ts)
    return h >= 9 && h < 18 ? high : h >= 7 && h < 21 ? (low + high) / 2 : low
  }
/** Weekdays as `weekday`, weekends at `share` of it. */
const weekly =
  (weekday: Shape, share: number): Shape =>
  (ts) =>
    weekday(ts) * (dowOf(ts) >= 5 ? share : 1)

/** Poisson arrivals per minute for `shape`, each costing `cost` (+-50%), for one customer. */
function traffic(
  customer: string,
  from: number,
  to: number,
  shape: Shape,
  cost: number,
  seed = 1,
): RequestEvent[] {
  const rnd = prng(seed)
  const out: RequestEvent[] = []
  for (let m = from; m < to; m += MIN) {
    const lambda = shape(m) / 60
    // Knuth's Poisson draw (lambda is small)
    let k = 0
    for (let p = rnd(), l = Math.exp(-lambda); p > l; p *= rnd()) k++
    for (let i = 0; i < k; i++)
      out.push(
        ev({
          event_id: `${customer}-${seed}-${m}-${i}`,
          ts: m + Math.floor(rnd() * MIN),
          customer,
          cost_usd: Math.round(cost * (0.5 + rnd()) * 1e6) / 1e6,
        }),
      )
  }
  return out.sort(byEventTime)
}

/** `n` requests of `cost` each, evenly over `[from, from + span)`. */
function burst(customer: string, from: number, span: number, n: number, cost: number): RequestEvent[] {
  return Array.from({ length: n }, (_, i) =>
    ev({
      event_id: `${customer}-burst-${from}-${i}`,
      ts: from + Math.floor((i * span) / n),
      customer,
      cost_usd: cost,
    }),
  )
}

const anomalies = (fs: Finding[]) => fs.filter((f) => f.type === 'spend_anomaly')
const firings = (fs: Finding[]) => anomalies(fs).filter((f) => f.state === 'firing')
const brief = (fs: Finding[]) => fs.map((f) => `${new Date(f.at).toISOString()} ${f.state} ${f.summary}`)

// A business customer: 240 requests/h (about $6/h) 09-18 on weekdays, 24/h at night, weekends at 30%.
const business = weekly(diurnal(24, 240), 0.3)

interface Case {
  name: string
  events: () => RequestEvent[]
  over?: Record<string, unknown>
  /** Expected firings: the scope and the window in which it must fire (nothing else may fire). */
  fires: Array<{ customer: string; from: number; to: number }>
}

const cases: Case[] = [
  {
    name: 'diurnal and weekly patterns (10x day/night, weekends at 30%) over 4 weeks: no alert',
    events: () => traffic('acme', MONDAY, MONDAY + 4 * WEEK, business, 0.025),
    fires: [],
  },
  {
    name: 'the usual Monday ramp (a batch at 08:00 every Monday, 900 requests/h, 3.75x the busiest usual hour) is not caught once it is usual',
    events: () =>
      traffic(
        'acme',
        MONDAY,
        MONDAY + 2 * WEEK + DAY,
        (ts) => (dowOf(ts) === 0 && hourOf(ts) >= 8 && hourOf(ts) < 11 ? 900 : business(ts)),
        0.025,
      ),
    // the first Monday is the customer's first day (not judged); the second Monday is not usual yet (one
    // Monday of history: the daily baseline of the last 7 days judges it); from the third on it is usual
    fires: [{ customer: 'acme', from: MONDAY + WEEK + 8 * HOUR, to: MONDAY + WEEK + 11 * HOUR }],
  },
  {
    name: 'a spike at a quiet hour (Saturday 03:00, +$12/h for 30 min) is caught',
    events: () => [
      ...traffic('acme', MONDAY, MONDAY + 3 * WEEK, business, 0.025),
      ...burst('acme', MONDAY + 2 * WEEK + 5 * DAY + 3 * HOUR, 30 * MIN, 300, 0.02),
    ],
    fires: [
      {
        customer: 'acme',
        from: MONDAY + 2 * WEEK + 5 * DAY + 3 * HOUR,
        to: MONDAY + 2 * WEEK + 5 * DAY + 3 * HOUR + 30 * MIN,
      },
    ],
  },
  {
    name: 'sparse scopes under the minimums are ignored ($0.01/h -> $0.10/h; 10 requests of $2)',
    events: () => [
      ...traffic('tiny', MONDAY, MONDAY + 2 * WEEK, () => 4, 0.0025),
      // 40 requests in 15 minutes at $0.10/h: 10x its usual, $0.09/h over it
      ...burst('tiny', MONDAY + 10 * DAY + 3 * HOUR, 15 * MIN, 40, 0.000625),
      ...traffic('rare', MONDAY, MONDAY + 2 * WEEK, () => 1, 0.01, 2),
      // $20 in 15 minutes, but only 10 requests
      ...burst('rare', MONDAY + 11 * DAY + 4 * HOUR, 15 * MIN, 10, 2),
    ],
    fires: [],
  },
  {
    name: 'a scope with no history spending $50/h from its first minute is not judged (budgets cover it)',
    events: () => [
      ...traffic('acme', MONDAY, MONDAY + 2 * DAY, business, 0.025),
      ...traffic('newco', MONDAY + DAY + 10 * HOUR, MONDAY + DAY + 20 * HOUR, () => 1000, 0.05, 3),
    ],
    fires: [],
  },
]

for (const c of cases) {
  test(`spend anomaly: ${c.name}`, () => {
    const p = policy(c.over)
    const events = c.events().sort(byEventTime)
    const findings = anomalies(runDetectors(events, p, { until: events.at(-1)!.ts + 2 * HOUR }))
    const fired = firings(findings)
    assert.equal(fired.length, c.fires.length, brief(findings).join('\n'))
    for (const want of c.fires) {
      const f = fired.find((x) => x.scope.id === want.customer && x.at >= want.from && x.at <= want.to)
      assert.ok(
        f,
        `${want.customer} should fire in [${new Date(want.from).toISOString()}, ${new Date(want.to).toISOString()}]: ${brief(findings).join('\n')}`,
      )
      // within one tick of the instant an independent brute-force reading says the rule holds
      const own = events.filter((e) => e.customer === want.customer)
      const cross = oracleCrossing(own, p.detectors.spend_anomaly, p.detectors.tick, want.from, want.to)
      assert.ok(cross !== null)
      assert.ok(Math.abs(f.at - cross) <= p.detectors.tick, `fired ${f.at - cross} ms after crossing`)
    }
    // every firing resolves once, after its condition has been clear for clear_for
    for (const f of fired) {
      const r = findings.filter((x) => x.dedupe_key === f.dedupe_key && x.state === 'resolved' && x.at > f.at)
      assert.ok(r.length >= 1, `${f.dedupe_key} resolves`)
    }
  })
}

test('spend anomaly: the finding says how far above the baseline, since when, and carries the action', () => {
  const p = policy({ action: { action: 'block' } })
  const spikeAt = MONDAY + 2 * WEEK + 3 * DAY + 15 * HOUR + 7 * MIN // a Thursday, 15:07
  const events = [
    ...traffic('acme', MONDAY, MONDAY + 3 * WEEK, business, 0.025),
    ...burst('acme', spikeAt, 40 * MIN, 1200, 0.03),
  ].sort(byEventTime)
  const findings = anomalies(runDetectors(events, p, { until: MONDAY + 3 * WEEK }))
  assert.deepEqual(
    findings.map((f) => f.state),
    ['firing', 'resolved'],
  )
  const [f, r] = findings as [Finding, Finding]
  assert.equal(f.dedupe_key, spendAnomalyKey('customer', 'acme'))
  assert.equal(f.severity, 'page')
  assert.deepEqual(f.scope, { kind: 'customer', id: 'acme' })
  assert.deepEqual(f.action, { action: 'block' })
  assert.equal(f.details.baseline, 'weekly')
  assert.equal(f.details.baseline_for, 'for Thursdays 15:00 UTC')
  assert.equal(f.details.baseline_samples, 2)
  const base = f.details.baseline_usd_per_hour as number
  const rate = f.details.rate_usd_per_hour as number
  assert.ok(base > 4 && base < 8, `baseline ${base}`)
  assert.ok(rate >= 3 * base && rate - base >= 2)
  assert.match(
    f.summary,
    /^customer acme: \$\d+\.\d\d\/h over the last 15m, \d+(\.\d)?x its usual \$\d\.\d\d\/h for Thursdays 15:00 UTC, since Nov 19 at 15:(0[7-9]|1\d) UTC$/,
  )
  assert.ok(Date.parse(f.details.since as string) >= spikeAt)
  // resolves only after clear_for (30m) of clear readings, and no sooner than the spike ended + 30m
  assert.ok(r.at >= spikeAt + 40 * MIN + 30 * MIN, `resolved at ${new Date(r.at).toISOString()}`)
  assert.ok(r.at <= spikeAt + 40 * MIN + 30 * MIN + 15 * MIN + 5000)
  assert.match(r.summary, /^customer acme: spend back to usual .* the anomaly ran from Nov 19 at 15:\d\d UTC/)
  assert.equal(r.action, undefined)
})

test('spend anomaly: a condition that flaps inside clear_for stays one alert (hysteresis of its own)', () => {
  const p = policy({ clear_for: '30m' })
  const start = MONDAY + 2 * WEEK + 2 * DAY + 3 * HOUR
  const events = [
    ...traffic('acme', MONDAY, MONDAY + 3 * WEEK, business, 0.025),
    // three 15-minute bursts 20 minutes apart: clear between them, never for 30 minutes
    ...burst('acme', start, 15 * MIN, 300, 0.03),
    ...burst('acme', start + 35 * MIN, 15 * MIN, 300, 0.03),
    ...burst('acme', start + 70 * MIN, 15 * MIN, 300, 0.03),
  ].sort(byEventTime)
  const findings = anomalies(runDetectors(events, p, { until: MONDAY + 3 * WEEK }))
  assert.deepEqual(
    findings.map((f) => f.state),
    ['firing', 'resolved'],
    brief(findings).join('\n'),
  )
  assert.ok(findings[1]!.at >= start + 85 * MIN + 30 * MIN)
})

test('spend anomaly: with the hourly history read from the store each hour, findings equal the in-memory run', () => {
  const p = policy({ scopes: [{ customer: '*' }, { team: '*' }] })
  p.detectors.allowed_lateness = 0
  const spikeAt = MONDAY + 2 * WEEK + 2 * DAY + 14 * HOUR + 7 * MIN
  const events = [
    ...traffic('acme', MONDAY, MONDAY + 3 * WEEK, business, 0.025).map((e) => ({ ...e, team: 'red' })),
    ...traffic('globex', MONDAY + 9 * DAY, MONDAY + 3 * WEEK, diurnal(2, 30), 0.01, 2),
    ...burst('acme', spikeAt, 45 * MIN, 900, 0.02).map((e) => ({ ...e, team: 'red' })),
    ...burst('globex', MONDAY + 9 * DAY + 20 * HOUR, 40 * MIN, 600, 0.03),
  ].sort(byEventTime)
  const until = MONDAY + 3 * WEEK
  const memory = anomalies(runDetectors(events, p, { until }))
  assert.ok(memory.filter((f) => f.state === 'firing').length >= 2, brief(memory).join('\n'))
  // a store-mode runner from an empty store: the same findings, the same instants
  const fromStore = DetectorRunner.restore(p, {
    events: [],
    open: new Set(),
    now: MONDAY,
    spendHistoryFromStore: true,
  })
  const stored = anomalies(runFromStore(fromStore.runner, p.detectors.spend_anomaly, [], events, until))
  assert.deepEqual(brief(stored), brief(memory))
  assert.deepEqual(stored, memory)
})

/** Three weeks of the business customer acme, and 1,200 more requests in the hour from the third Saturday 03:00. */
function saturdaySpike(): { spikeAt: number; events: RequestEvent[] } {
  const spikeAt = MONDAY + 2 * WEEK + 5 * DAY + 3 * HOUR
  const events = [
    ...traffic('acme', MONDAY, MONDAY + 3 * WEEK, business, 0.025),
    ...burst('acme', spikeAt, 60 * MIN, 1200, 0.02),
  ].sort(byEventTime)
  return { spikeAt, events }
}

test('spend anomaly: from the store, nothing is judged until the history of the hour is handed over', () => {
  const p = policy()
  const { spikeAt, events } = saturdaySpike()
  const before = events.filter((e) => e.ts < spikeAt)
  const r = DetectorRunner.restore(p, {
    events: before.filter((e) => e.ts >= spendAnomalyReplaySince(spikeAt)),
    open: new Set(),
    now: spikeAt,
    spendHistoryFromStore: true,
  })
  assert.equal(r.runner.spendHistoryWanted(spikeAt), Math.floor(spikeAt / HOUR))
  const spike = events.filter((e) => e.ts >= spikeAt && e.ts < spikeAt + 30 * MIN)
  const held = [...spike.flatMap((e) => r.runner.push(e)), ...r.runner.tickUntil(spikeAt + 30 * MIN)]
  assert.deepEqual(anomalies(held), [])
  // handed over (within the same hour): the spike is judged on the next tick
  const after = runFromStore(
    r.runner,
    p.detectors.spend_anomaly,
    [...before, ...spike],
    [],
    spikeAt + 31 * MIN,
  )
  assert.deepEqual(
    anomalies(after).map((f) => f.state),
    ['firing'],
  )
})

test('spend anomaly: from the store, a series the history lacks is not judged (no zero baseline); two answers for one series merge', () => {
  const p = policy()
  const spikeAt = MONDAY + 2 * DAY + 15 * HOUR
  const events = [
    ...traffic('acme', MONDAY, spikeAt + HOUR, business, 0.025),
    ...burst('acme', spikeAt, 40 * MIN, 900, 0.02),
  ].sort(byEventTime)
  const fresh = () =>
    DetectorRunner.restore(p, { events: [], open: new Set(), now: MONDAY, spendHistoryFromStore: true })
      .runner
  // a store that never has acme (e.g. a team the rollup knows by another name): each hour an empty history
  const blind = fresh()
  const out: Finding[] = []
  let handed = -1
  for (const e of events) {
    const h = blind.spendHistoryWanted(e.ts)
    if (h !== null && h !== handed) {
      out.push(...blind.tickUntil(h * HOUR - 1))
      blind.setSpendHistory(storedSpendHistoryFrom(h, []))
      handed = h
    }
    out.push(...blind.push(e))
  }
  out.push(...blind.tickUntil(spikeAt + HOUR))
  assert.deepEqual(anomalies(out), [])
  // the same events with the store's true history: the spike fires
  const seen = anomalies(runFromStore(fresh(), p.detectors.spend_anomaly, [], events, spikeAt + HOUR))
  assert.deepEqual(
    seen.map((f) => f.state),
    ['firing'],
  )
  // two scopes naming one series ({ key: "*" } names a key by its alias only without a hash, { key: k }
  // by either): merged, its first hour the earliest, per hour the larger sum (the union's)
  const a = { kind: 'key', id: 'k', first: 10, hours: [11, 12], costs: [1, 3] }
  const h = storedSpendHistoryFrom(13, [a, { ...a, first: 5, hours: [9, 11], costs: [2, 99] }])
  const merged = h.series.get('key\u0000k')!
  assert.equal(merged.first, 5)
  assert.deepEqual(
    [merged.hours.starts.map((x) => x / HOUR), merged.hours.sums, merged.hours.cum],
    [
      [9, 11, 12],
      [2, 99, 3],
      [2, 101, 104],
    ],
  )
})

test('spend anomaly: a restart mid-spike (recent events replayed, the hourly history from the store) does not re-fire', () => {
  const p = policy()
  const { spikeAt, events } = saturdaySpike()
  const whole = anomalies(runDetectors(events, p, { until: MONDAY + 3 * WEEK }))
  assert.deepEqual(
    whole.map((f) => f.state),
    ['firing', 'resolved'],
  )
  // first life: up to 30 minutes into the spike
  const crash = spikeAt + 30 * MIN
  const before = events.filter((e) => e.ts < crash)
  const first = new DetectorRunner(p)
  const seen: Finding[] = []
  for (const e of before) seen.push(...first.push(e))
  seen.push(...first.tickUntil(crash))
  assert.deepEqual(
    anomalies(seen).map((f) => f.state),
    ['firing'],
  )
  const open = new Set(anomalies(seen).map((f) => f.dedupe_key))
  // second life: the recent events, the open alert; the older hours come from the store, hour by hour
  const since = spendAnomalyReplaySince(crash)
  const restored = DetectorRunner.restore(p, {
    events: before.filter((e) => e.ts >= since),
    open,
    now: crash,
    spendHistoryFromStore: true,
  })
  assert.deepEqual(anomalies(restored.findings), [])
  const cfg = p.detectors.spend_anomaly
  const rest = events.filter((x) => x.ts >= crash)
  const after = runFromStore(restored.runner, cfg, before, rest, MONDAY + 3 * WEEK)
  assert.deepEqual(
    anomalies(after).map((f) => f.state),
    ['resolved'],
    brief(after).join('\n'),
  )
  const resolvedWhole = whole[1]!
  assert.ok(Math.abs(anomalies(after)[0]!.at - resolvedWhole.at) <= 5 * MIN)

  // and an anomaly going on that the store never got (crash between detection and store) fires once
  const lost = DetectorRunner.restore(p, {
    events: before.filter((e) => e.ts >= since),
    open: new Set(),
    now: crash,
    spendHistoryFromStore: true,
  })
  const again = runFromStore(lost.runner, cfg, before, rest, MONDAY + 3 * WEEK)
  assert.deepEqual(
    anomalies(again).map((f) => f.state),
    ['firing', 'resolved'],
  )
})

test('spend anomaly: a restart from the stored spend per minute of the window judges as one replaying two hours of events', () => {
  // three customers, a global scope and a scope naming acme again (two answers for one series)
  const p = policy({ scopes: [{ customer: '*' }, { customer: 'acme' }, {}] })
  const cfg = p.detectors.spend_anomaly
  const { spikeAt, events: acme } = saturdaySpike()
  const until = spikeAt + 2 * HOUR
  const events = [
    ...acme,
    ...traffic('beta', MONDAY, MONDAY + 3 * WEEK, business, 0.03, 2),
    ...burst('beta', spikeAt + 20 * MIN, 40 * MIN, 1500, 0.02),
    ...traffic('gamma', MONDAY, MONDAY + 3 * WEEK, diurnal(6, 30), 0.01, 3),
  ]
    .filter((e) => e.ts < until)
    .sort(byEventTime)
  // as acme's spike starts (nothing fired yet), and mid-spike off a minute boundary (all three open)
  const crashes = [spikeAt + MIN + 5_000, spikeAt + 35 * MIN + 17_000]
  // one first life, its open alerts at each crash
  const first = new DetectorRunner(p)
  const openAt = new Map<number, Set<string>>()
  const open = new Set<string>()
  let i = 0
  for (const crash of crashes) {
    const fs: Finding[] = []
    for (; i < events.length && events[i]!.ts < crash; i++) fs.push(...first.push(events[i]!))
    fs.push(...first.tickUntil(crash))
    for (const f of anomalies(fs)) {
      if (f.state === 'firing') open.add(f.dedupe_key)
      else open.delete(f.dedupe_key)
    }
    openAt.set(crash, new Set(open))
  }
  assert.deepEqual(
    [...openAt.values()].map((o) => o.size),
    [0, 3],
  )
  const fired = new Set<string>()
  for (const crash of crashes) {
    const before = events.filter((e) => e.ts < crash)
    const rest = events.filter((e) => e.ts >= crash)
    const taken = openAt.get(crash)!
    // with the alerts the store has open, and without them (lost in the crash: they fire again)
    for (const o of taken.size > 0 ? [taken, new Set<string>()] : [taken]) {
      const { fromMinute, toMinute } = spendAnomalyMinutesRead(cfg, crash)
      const fromEvents = DetectorRunner.restore(p, {
        events: before.filter((e) => e.ts >= spendAnomalyReplaySince(crash)),
        open: o,
        now: crash,
        spendHistoryFromStore: true,
      })
      const fromMinutes = DetectorRunner.restore(p, {
        events: [],
        open: o,
        now: crash,
        spendHistoryFromStore: true,
        spendMinutes: cfg.scopes.flatMap((scope) => minuteSpendOf(before, scope, fromMinute, toMinute)),
      })
      assert.deepEqual(fromMinutes.findings, fromEvents.findings)
      // the findings of one tick in scope order (a tick's order follows the series' recency, to the minute)
      const byTick = (fs: Finding[]) =>
        fs.sort(
          (a, b) => a.at - b.at || (a.dedupe_key < b.dedupe_key ? -1 : a.dedupe_key > b.dedupe_key ? 1 : 0),
        )
      const want = byTick(runFromStore(fromEvents.runner, cfg, before, rest, until))
      const got = byTick(runFromStore(fromMinutes.runner, cfg, before, rest, until))
      const at = `restart at ${new Date(crash).toISOString()}, ${o.size} open`
      assert.deepEqual(brief(got), brief(want), at)
      assert.deepEqual(got, want, at)
      for (const f of anomalies(got)) fired.add(`${f.state} ${f.dedupe_key}`)
    }
  }
  // the comparison covers firing and resolving, per customer and globally
  for (const k of [
    'firing spend_anomaly:customer:acme',
    'resolved spend_anomaly:customer:acme',
    'firing spend_anomaly:customer:beta',
    'resolved spend_anomaly:customer:beta',
    'firing spend_anomaly:global:',
    'resolved spend_anomaly:global:',
  ])
    assert.ok(fired.has(k), `${k} among ${[...fired].join(', ')}`)
})

test('spend anomaly: the window seeded from minute sums holds what replayed events put in it, per series (keys by hash or alias under overlapping scopes)', () => {
  const scopes = [{ key: '*' }, { key: 'ops' }, { key: 'h1' }, { customer: '*' }, { customer: 'c1' }, {}]
  const cfg = policy({ scopes }).detectors.spend_anomaly
  const now = MONDAY + 9 * DAY + 14 * HOUR + 23 * MIN + 41_000
  const rnd = prng(5)
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!
  // two hours of sparse calls: keys by hash, by alias only, by a hash that is another key's alias
  const events: RequestEvent[] = []
  for (let i = 0; i < 600; i++)
    events.push(
      ev({
        event_id: `w-${i}`,
        ts: now - 2 * HOUR + Math.floor(rnd() * 2 * HOUR),
        api_key_hash: pick(['', 'h1', 'h2']),
        api_key_alias: pick(['', 'ops', 'h1']),
        customer: pick(['', 'c1', 'c2', 'c3']),
        cost_usd: Math.round(rnd() * 1e6) / 1e7,
      }),
    )
  events.sort(byEventTime)
  const { fromMinute, toMinute } = spendAnomalyMinutesRead(cfg, now)
  const replayed = rebuildSpendAnomalyState(events, cfg, { open: new Set(), now, fromStore: true }).state
  const seeded = rebuildSpendAnomalyState([], cfg, {
    open: new Set(),
    now,
    fromStore: true,
    minutes: scopes.flatMap((scope) => minuteSpendOf(events, scope, fromMinute, toMinute)),
  }).state
  // per series with calls in the window: its spend (to 1e-9 USD) and calls there
  const inWindow = (x: SpendAnomalyState) => {
    const out = new Map<string, [number, number]>()
    for (const [k, v] of x.series) {
      const n = Math.round(tierSum(v.counts, now - cfg.window, now))
      if (n > 0) out.set(k, [Math.round(tierSum(v.minutes, now - cfg.window, now) * 1e9), n])
    }
    return out
  }
  const want = inWindow(replayed)
  assert.deepEqual(inWindow(seeded), want)
  // every series the replay would judge on the next tick is judged: keys by alias and by hash among them
  for (const k of replayed.dirty) assert.ok(seeded.dirty.has(k), k)
  for (const k of ['key\u0000ops', 'key\u0000h1', 'key\u0000h2', 'customer\u0000c1', 'global\u0000'])
    assert.ok(want.has(k) && seeded.dirty.has(k), k)
})

test('spend anomaly: series restored from minute sums keep least recently seen first (the state cap evicts those)', () => {
  const p = policy()
  const now = MONDAY + 10 * DAY + 12 * HOUR
  const minute = (ago: number) => Math.floor(now / MIN) - ago
  // answered in no particular order; c3's last minute is the oldest, then c1's, c4's, c2's
  const answer = (id: string, ago: number[]) => ({
    kind: 'customer',
    id,
    minutes: ago.map(minute),
    costs: ago.map(() => 0.5),
    requests: ago.map(() => 2),
  })
  const minutes = [answer('c1', [9, 6]), answer('c2', [8, 0]), answer('c3', [12]), answer('c4', [3])]
  const r = DetectorRunner.restore(
    p,
    { events: [], open: new Set(), now, spendHistoryFromStore: true, spendMinutes: minutes },
    { anomaly: { maxSeries: 3 } },
  )
  // over the cap of 3 the state is cut to 90% of it: the two seen last stay
  const { series } = r.runner.toJSON().anomaly!
  assert.deepEqual(
    series.map(([, x]) => x.id),
    ['c4', 'c2'],
  )
  // the current minute's series ends at now, older ones at the end of their last minute
  assert.equal(series[1]![1].lastTs, now)
  assert.equal(series[0]![1].lastTs, minute(3) * MIN + MIN - 1)
  const all = DetectorRunner.restore(p, {
    events: [],
    open: new Set(),
    now,
    spendHistoryFromStore: true,
    spendMinutes: minutes,
  })
  assert.deepEqual(
    all.runner.toJSON().anomaly!.series.map(([, x]) => x.id),
    ['c3', 'c1', 'c4', 'c2'],
  )
  // in memory (no stored hourly history) minute sums cannot stand in for the events
  assert.throws(
    () => DetectorRunner.restore(p, { events: [], open: new Set(), now, spendMinutes: minutes }),
    /hourly history/,
  )
})

test('spend anomaly: toJSON/fromJSON mid-spike continues identically', () => {
  const p = policy()
  const spikeAt = MONDAY + 8 * DAY + 2 * HOUR
  const events = [
    ...traffic('acme', MONDAY, MONDAY + 10 * DAY, business, 0.025),
    ...burst('acme', spikeAt, 40 * MIN, 800, 0.02),
  ].sort(byEventTime)
  const whole = runDetectors(events, p, { until: MONDAY + 10 * DAY })
  const cut = events.findIndex((e) => e.ts >= spikeAt + 20 * MIN)
  const a = new DetectorRunner(p)
  const out: Finding[] = []
  for (const e of events.slice(0, cut)) out.push(...a.push(e))
  const b = DetectorRunner.fromJSON(JSON.parse(JSON.stringify(a.toJSON())), p)
  for (const e of events.slice(cut)) out.push(...b.push(e))
  out.push(...b.flush(), ...b.tickUntil(MONDAY + 10 * DAY))
  assert.deepEqual(out, whole)
  assert.equal(firings(whole).length, 1)
})

test('spend anomaly: state is bounded (series cap evicts the least recently seen, an open one resolves)', () => {
  const cfg = detectors({ spend_anomaly: { scopes: [{ customer: '*' }] } }).spend_anomaly
  let state = initSpendAnomalyState()
  for (let i = 0; i < 1000; i++) {
    state = stepSpendAnomaly(
      state,
      ev({ ts: MONDAY + i, customer: `c${i}`, cost_usd: 0.01 }),
      cfg,
      MONDAY + i,
      {
        maxSeries: 100,
      },
    ).state
  }
  assert.ok(state.series.size <= 100)
  assert.ok(state.evicted >= 900)
  state = tickSpendAnomaly(state, cfg, MONDAY + 10 * WEEK).state
  assert.equal(state.series.size, 0, 'idle series past the baseline reach are dropped')
})

test('spend anomaly: config defaults and checks', () => {
  const cfg = detectors().spend_anomaly
  assert.deepEqual(cfg.scopes, [
    { customer: '*' },
    { endpoint: '*' },
    { agent: '*' },
    { key: '*' },
    { model: '*' },
  ])
  assert.equal(cfg.window, 15 * MIN)
  assert.equal(cfg.clear_for, 30 * MIN)
  assert.throws(() => detectors({ spend_anomaly: { window: '2h' } }), /window must be between 1m and 1h/)
  assert.throws(() => detectors({ spend_anomaly: { weeks: 1 } }))
  assert.throws(
    () => detectors({ spend_anomaly: { scopes: [{ tier: 'pro' }] } }),
    /tier scope cannot be judged/,
  )
})
