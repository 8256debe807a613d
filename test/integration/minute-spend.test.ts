import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { clickHouseHourlySpendReader } from '../../adapters/clickhouse/hourly-spend.js'
import { clickHouseMinuteSpendReader } from '../../adapters/clickhouse/minute-spend.js'
import { clickHouseEventReader, insertRequests } from '../../adapters/clickhouse/requests-table.js'
import type { Finding } from '../../core/detectors/finding.js'
import type { ScopeMinuteSpend } from '../../core/ports/minute-spend-reader.js'
import { EventDetectors } from '../../services/detect/event-detectors.js'
import { DetectorsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { ev, HOUR, MIN } from '../support/detector-fixtures.js'
import { freshStore } from '../support/store.js'
import { minuteSpendOf } from '../support/stored-spend.js'

const opened: StoreClient[] = []
after(async () => {
  for (const s of opened) await s.client.close()
})

const DAY = 24 * HOUR
/**
 * Times relative to today: spend_by_minute keeps 35 days (TTL on the wall clock), so fixed dates would
 * expire. `MONDAY`: the Monday 00:00 UTC three to four weeks ago (epoch day 0 was a Thursday).
 */
const TODAY = Math.floor(Date.now() / DAY) * DAY
const ago = Math.floor((Date.now() - 21 * DAY) / DAY)
const MONDAY = (ago - ((ago + 3) % 7)) * DAY

test('spend per minute for a restart: per scope value and minute from spend_by_minute, equal to the raw sums', async () => {
  const s = await freshStore('minute_spend')
  opened.push(s)
  const events: RequestEvent[] = []
  // 400 events over ~47 minutes, several per minute, across a day boundary (two daily partitions)
  const start = TODAY - DAY - 20 * MIN
  for (let i = 0; i < 400; i++)
    events.push(
      ev({
        event_id: `m-${i}`,
        ts: start + i * 7_000,
        customer: i % 3 === 0 ? '' : `c${i % 4}`,
        api_key_hash: i % 5 === 0 ? '' : `k${i % 2}`,
        api_key_alias: i % 5 === 0 ? 'alias-only' : '',
        model: i % 2 ? 'gpt-4o' : 'gpt-4o-mini',
        cost_usd: 0.001 * (i % 7),
      }),
    )
  // two inserts: the rollup holds several parts per minute until they merge; the reader must sum them
  await insertRequests(
    s.client,
    s.database,
    events.filter((_, i) => i % 2 === 0),
    randomUUID(),
  )
  await insertRequests(
    s.client,
    s.database,
    events.filter((_, i) => i % 2 === 1),
    randomUUID(),
  )
  const reader = clickHouseMinuteSpendReader(s)
  // the range starts after the first events and ends before the last (neither end may count)
  const fromMinute = start / MIN + 3
  const toMinute = start / MIN + 40
  const norm = (xs: ScopeMinuteSpend[]) =>
    xs
      .map((x) => ({ ...x, costs: x.costs.map((c) => Math.round(c * 1e9)) }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  for (const scope of [{ customer: '*' }, { key: '*' }, { key: 'alias-only' }, { model: 'gpt-4o' }, {}]) {
    const got = norm(await reader.minuteSpend(scope, fromMinute, toMinute))
    assert.deepEqual(got, norm(minuteSpendOf(events, scope, fromMinute, toMinute)), JSON.stringify(scope))
    assert.ok(got.length > 0 && got.every((x) => x.minutes[0]! >= fromMinute && x.minutes.at(-1)! < toMinute))
    assert.ok(got.some((x) => x.requests.some((n) => n > 1)))
  }
  assert.deepEqual(await reader.minuteSpend({ customer: 'nobody' }, fromMinute, toMinute), [])
  assert.deepEqual(await reader.minuteSpend({ customer: '*' }, toMinute, toMinute), [])
})

test('restore on the store: the spend anomaly window from spend_by_minute reads only the loop window of events, and judges as the two hours of events', async () => {
  const s = await freshStore('minute_restore')
  opened.push(s)
  const detectors = DetectorsConfig.parse({
    zombie: { enabled: false },
    spend_anomaly: { scopes: [{ customer: '*' }, {}] },
  })
  // two weeks of $3/h for acme and $1.2/h for beta (a request a minute each), then acme at $30/h from Mon 03:00
  const spike = MONDAY + 14 * DAY + 3 * HOUR
  const events: RequestEvent[] = []
  for (let m = MONDAY; m < spike + HOUR; m += MIN) {
    events.push(ev({ event_id: `a-${m}`, ts: m, customer: 'acme', cost_usd: 0.05, fingerprint: `a-${m}` }))
    events.push(
      ev({ event_id: `b-${m}`, ts: m + 20_000, customer: 'beta', cost_usd: 0.02, fingerprint: `b-${m}` }),
    )
  }
  for (let m = spike; m < spike + HOUR; m += 6_000)
    events.push(
      ev({ event_id: `s-${m}`, ts: m + 1, customer: 'acme', cost_usd: 0.05, fingerprint: `s-${m}` }),
    )
  events.sort((a, b) => a.ts - b.ts || (a.event_id < b.event_id ? -1 : 1))
  const crash = spike + 30 * MIN + 13_000
  const before = events.filter((e) => e.ts < crash)
  for (let i = 0; i < before.length; i += 10_000)
    await insertRequests(s.client, s.database, before.slice(i, i + 10_000), randomUUID())
  const reader = clickHouseEventReader(s)
  const hourly = clickHouseHourlySpendReader(s)
  const run = async (d: EventDetectors, open: Set<string>) => {
    const r = await d.restore(open, crash)
    const out: Finding[] = [...r.findings]
    const errors: unknown[] = []
    d.startSpendHistoryRefresh(
      crash,
      () => {},
      (err) => errors.push(err),
    )
    await d.spendHistorySettled()
    assert.deepEqual(errors, [])
    // the rest of the hour, minute by minute, as the engine pushes and ticks
    for (let at = crash; at < spike + HOUR; at += MIN) {
      out.push(
        ...d.push(
          events.filter((e) => e.ts >= at && e.ts < at + MIN),
          at + MIN,
        ),
      )
      out.push(...d.advance(at + MIN))
    }
    return { ...r, findings: out.filter((f) => f.type === 'spend_anomaly') }
  }
  for (const open of [new Set<string>(), new Set(['spend_anomaly:customer:acme', 'spend_anomaly:global:'])]) {
    const minutes = clickHouseMinuteSpendReader(s)
    const got = await run(new EventDetectors(reader, detectors, hourly, minutes), open)
    const want = await run(new EventDetectors(reader, detectors, hourly), open)
    // events of the loop window only (65 s: ~2 a minute + 10 a minute of the spike), against two hours'
    assert.ok(got.replayed <= 20, `replayed ${got.replayed}`)
    assert.ok(want.replayed > 400, `replayed ${want.replayed}`)
    assert.equal(got.spendSeries, 3)
    assert.equal(want.spendSeries, 0)
    assert.deepEqual(got.findings, want.findings)
    // an anomaly the store lost fires once; one it has open goes on without a page
    assert.deepEqual(
      got.findings.map((f) => `${f.state} ${f.dedupe_key}`),
      open.size === 0 ? ['firing spend_anomaly:customer:acme', 'firing spend_anomaly:global:'] : [],
    )
  }
})
