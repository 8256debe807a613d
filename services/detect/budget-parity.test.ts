import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { applyFindings, type AlertBook } from '../../core/alerts/alert-book.js'
import { resolveAfterOf } from '../../core/alerts/resolve-after.js'
import type { Alert } from '../../core/alerts/alert.js'
import { budget, detectors, ev, HOUR, MIN, t } from '../../test/support/detector-fixtures.js'
import { AlertsConfig, type Budget, type DetectorsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import {
  MemoryAlertStore,
  MemoryElection,
  MemoryEventReader,
  MemorySpendReader,
} from '../../test/support/memory-ports.js'
import { replayEvents } from '../replay/run.js'
import { DetectionEngine } from './engine.js'

// Live and replay must judge budgets alike: replay exists to predict live. Same history, same policy,
// two paths: the live engine (spend from a SpendReader over the stored events, one tick a minute) and
// the replay runner (its in-process ledger). Costs are dyadic so both sums are exact.

const FROM = t('2026-11-23T14:00:00Z')
const UNTIL = t('2026-11-24T12:00:00Z')

/** acme bursts at 18:00 (daily budget exhausted, burn page), beta idles, gamma spends steadily (forecast). */
function history(): RequestEvent[] {
  const out: RequestEvent[] = []
  for (let at = FROM + 7_000; at < t('2026-11-24T10:00:00Z'); at += 2 * MIN) {
    out.push(ev({ event_id: `a${at}`, ts: at, customer: 'acme', cost_usd: 0.125 }))
    out.push(ev({ event_id: `b${at}`, ts: at + 11_000, customer: 'beta', cost_usd: 0.0625 }))
    out.push(ev({ event_id: `g${at}`, ts: at + 23_000, customer: 'gamma', cost_usd: 0.0625 }))
  }
  for (let at = t('2026-11-23T18:00:00Z') + 3_000; at < t('2026-11-23T18:30:00Z'); at += 10_000)
    out.push(ev({ event_id: `burst${at}`, ts: at, customer: 'acme', cost_usd: 0.25 }))
  return out.sort((a, b) => a.ts - b.ts || a.event_id.localeCompare(b.event_id))
}

const budgets: Budget[] = [
  // a day that starts at 11:00 UTC: gamma's period-to-date rate agrees with its recent rate
  budget({
    name: 'each-daily',
    scope: { customer: '*' },
    limit_usd: 20,
    period: 'day',
    timezone: 'Pacific/Auckland',
  }),
  budget({ name: 'all-weekly', scope: {}, limit_usd: 150, period: 'week' }),
]

const policyWith = (windows: unknown[]): DetectorsConfig =>
  detectors({
    tick: '2m',
    allowed_lateness: '0s',
    loop: { enabled: false },
    zombie: { enabled: false },
    burn_rate: { windows },
  })

type Seen = Pick<Alert, 'id' | 'dedupe_key' | 'state' | 'severity' | 'updated_at' | 'summary' | 'details'>
const seen = (a: Alert): Seen => ({
  id: a.id,
  dedupe_key: a.dedupe_key,
  state: a.state,
  severity: a.severity,
  updated_at: a.updated_at,
  summary: a.summary,
  details: a.details,
})

/** Live: the engine ticks every `tick`; the spend reader sees the events stored before each tick. */
async function live(events: readonly RequestEvent[], cfg: DetectorsConfig): Promise<Seen[]> {
  let clock = FROM
  const spend = new MemorySpendReader()
  const alerts = new MemoryAlertStore()
  const engine = new DetectionEngine({
    ports: { events: new MemoryEventReader(), alerts, spend, election: new MemoryElection() },
    budgets,
    detectors: cfg,
    alerts: AlertsConfig.parse({}),
    dispatcher: { plan: async () => undefined, tick: async () => undefined },
    metrics: { gauge: () => undefined },
    log: pino({ level: 'silent' }),
    now: () => clock,
    instance: 'gw-live',
  })
  await engine.start()
  let next = 0
  for (let at = FROM + cfg.tick; at <= UNTIL; at += cfg.tick) {
    while (next < events.length && events[next]!.ts < at) spend.events.push(events[next++]!)
    clock = at
    await engine.tick()
  }
  await engine.shutdown(1_000)
  return alerts.changes.map((c) => seen(c.alert))
}

/** Replay: the runner over the same events, ticking on to the same end; findings booked like live. */
async function replay(events: readonly RequestEvent[], cfg: DetectorsConfig): Promise<Seen[]> {
  async function* source() {
    yield* events
  }
  const run = await replayEvents(source(), { budgets, detectors: cfg }, { until: UNTIL })
  let book: AlertBook = { open: {} }
  const out: Seen[] = []
  // live books each tick's findings in one go, with the detectors' resolve_after, on every tick (held
  // resolutions are released by time): so does this (grouped by instant, in order)
  const byTick = new Map<number, typeof run.findings>()
  for (const f of run.findings) byTick.set(f.at, [...(byTick.get(f.at) ?? []), f])
  const resolveAfter = resolveAfterOf(cfg)
  for (let at = FROM + cfg.tick; at <= UNTIL; at += cfg.tick) {
    const r = applyFindings(book, byTick.get(at) ?? [], () => ({}), { now: at, resolveAfter })
    byTick.delete(at)
    book = r.book
    out.push(...r.changes.map(seen))
  }
  assert.equal(byTick.size, 0, 'every finding fell on a tick')
  return out
}

const kinds = (xs: Seen[]) => new Set(xs.map((x) => `${x.dedupe_key.split(':')[0]}:${x.state}`))

for (const [label, windows, recent] of [
  [
    '[1h/5m, 3d/6h]',
    [
      { long: '1h', short: '5m', factor: 10, severity: 'page' },
      { long: '3d', short: '6h', factor: 2, severity: 'ticket' },
    ],
    '6h',
  ],
  // no 6h window: the recent window is the one closest to 6 h (1h), on both paths
  ['[3d/1h]', [{ long: '3d', short: '1h', factor: 2, severity: 'ticket' }], '1h'],
] as const) {
  test(`budget findings: the live engine and the replay runner agree on the same history, windows ${label}`, async () => {
    const events = history()
    const cfg = policyWith([...windows])
    const [l, r] = [await live(events, cfg), await replay(events, cfg)]
    const line = (x: Seen) =>
      `${new Date(x.updated_at).toISOString()} ${x.state} ${x.dedupe_key}: ${x.summary}`
    assert.deepEqual(l.map(line), r.map(line))
    assert.deepEqual(l, r)
    // the comparison is not vacuous: alerts fire and resolve, on both detectors
    const k = kinds(l)
    for (const want of [
      'burn_rate:firing',
      'burn_rate:resolved',
      'budget_exhaustion:firing',
      'budget_exhaustion:resolved',
    ])
      assert.ok(k.has(want), `${want} in ${[...k].join(', ')}`)
    const forecast = l.find((x) => x.dedupe_key.includes(':forecast:') && x.state === 'firing')
    assert.ok(forecast, 'a forecast fired')
    assert.equal(forecast.details.recent_window, recent)
    assert.ok(
      l.some((x) => x.updated_at - FROM > 12 * HOUR),
      'findings late in the run too',
    )
  })
}
