import { test } from 'node:test'
import assert from 'node:assert/strict'
import { costSegments, currentMonthUtc, planCostQuery, previousPlan } from './cost-plan.js'

const now = Date.parse('2026-11-26T09:30:12.345Z')

test('missing from/to is the current calendar month (UTC), from the hourly rollup', () => {
  const p = planCostQuery({}, now, 35)
  assert.ok(!('error' in p))
  assert.equal(new Date(p.fromMs).toISOString(), '2026-11-01T00:00:00.000Z')
  assert.equal(new Date(p.toMs).toISOString(), '2026-12-01T00:00:00.000Z')
  assert.equal(p.source, 'spend_by_hour')
})

test('December rolls over to January', () => {
  const [a, b] = currentMonthUtc(Date.parse('2026-12-31T23:59:59Z'))
  assert.equal(new Date(a).toISOString(), '2026-12-01T00:00:00.000Z')
  assert.equal(new Date(b).toISOString(), '2027-01-01T00:00:00.000Z')
})

test('minute-aligned recent ranges use the minute rollup; older or unaligned ones raw rows', () => {
  const recent = planCostQuery({ from: '2026-11-26T09:01:00Z', to: '2026-11-26T09:30:00Z' }, now, 35)
  assert.ok(!('error' in recent) && recent.source === 'spend_by_minute')
  const old = planCostQuery({ from: '2026-01-01T09:01:00Z', to: '2026-01-01T09:30:00Z' }, now, 35)
  assert.ok(!('error' in old) && old.source === 'requests')
  const odd = planCostQuery({ from: '2026-11-26T09:01:30Z', to: '2026-11-26T09:30:00Z' }, now, 35)
  assert.ok(!('error' in odd) && odd.source === 'requests')
})

test('to before from is an error', () => {
  assert.ok('error' in planCostQuery({ from: '2026-11-02', to: '2026-11-01' }, now, 35))
})

test('a named period resolves in its time zone and picks the source from its ends', () => {
  const utc = planCostQuery({ period: 'last_month', timezone: 'UTC' }, now, 35)
  assert.ok(!('error' in utc))
  assert.equal(new Date(utc.fromMs).toISOString(), '2026-10-01T00:00:00.000Z')
  assert.equal(utc.source, 'spend_by_hour')
  // Kolkata's days start on half hours: recent ones from the minute rollup, old ones from raw rows
  const today = planCostQuery({ period: 'today', timezone: 'Asia/Kolkata' }, now, 35)
  assert.ok(!('error' in today) && today.source === 'spend_by_minute')
  const old = planCostQuery({ period: 'last_month', timezone: 'Asia/Kolkata' }, now, 35)
  assert.ok(!('error' in old) && old.source === 'requests')
})

test('the previous plan has its own source', () => {
  const p = planCostQuery({ from: '2026-11-26T09:00:00Z', to: '2026-11-26T09:30:00Z' }, now, 35)
  assert.ok(!('error' in p))
  assert.equal(p.source, 'spend_by_minute')
  const prev = previousPlan(p, now, 35)
  assert.equal(new Date(prev.fromMs).toISOString(), '2026-11-26T08:30:00.000Z')
  assert.equal(new Date(prev.toMs).toISOString(), '2026-11-26T09:00:00.000Z')
  assert.equal(prev.source, 'spend_by_minute')
  const month = planCostQuery({}, now, 35)
  assert.ok(!('error' in month))
  assert.equal(new Date(month.previous.fromMs).toISOString(), '2026-10-01T00:00:00.000Z')
  assert.equal(new Date(month.previous.toMs).toISOString(), '2026-11-01T00:00:00.000Z')
})

test('costSegments: whole days from the daily rollup when it keeps every needed dimension, finer tables only at the edges', () => {
  const t = (iso: string) => Date.parse(iso)
  const show = (segs: ReturnType<typeof costSegments>) =>
    segs.map((s) => `${s.table} ${new Date(s.fromMs).toISOString()}..${new Date(s.toMs).toISOString()}`)
  const minuteFrom = t('2026-10-23T00:00:00Z')
  // one customer (the hourly rollup's key prefix): hours at the edges
  assert.deepEqual(
    show(
      costSegments(
        { fromMs: t('2026-11-01T18:17:30.5Z'), toMs: t('2026-11-04T06:41:12Z') },
        ['customer'],
        minuteFrom,
        true,
      ),
    ),
    [
      'requests 2026-11-01T18:17:30.500Z..2026-11-01T18:18:00.000Z',
      'spend_by_minute 2026-11-01T18:18:00.000Z..2026-11-01T19:00:00.000Z',
      'spend_by_hour 2026-11-01T19:00:00.000Z..2026-11-02T00:00:00.000Z',
      'spend_by_customer_day 2026-11-02T00:00:00.000Z..2026-11-04T00:00:00.000Z',
      'spend_by_hour 2026-11-04T00:00:00.000Z..2026-11-04T06:00:00.000Z',
      'spend_by_minute 2026-11-04T06:00:00.000Z..2026-11-04T06:41:00.000Z',
      'requests 2026-11-04T06:41:00.000Z..2026-11-04T06:41:12.000Z',
    ],
  )
  // all customers: the hours at the day edges from the minute rollup (partitioned by day), not the
  // hourly one (by month, customer first)
  assert.deepEqual(
    show(
      costSegments(
        { fromMs: t('2026-11-01T18:17:30.5Z'), toMs: t('2026-11-04T06:41:12Z') },
        ['customer'],
        minuteFrom,
      ),
    ),
    [
      'requests 2026-11-01T18:17:30.500Z..2026-11-01T18:18:00.000Z',
      'spend_by_minute 2026-11-01T18:18:00.000Z..2026-11-02T00:00:00.000Z',
      'spend_by_customer_day 2026-11-02T00:00:00.000Z..2026-11-04T00:00:00.000Z',
      'spend_by_minute 2026-11-04T00:00:00.000Z..2026-11-04T06:41:00.000Z',
      'requests 2026-11-04T06:41:00.000Z..2026-11-04T06:41:12.000Z',
    ],
  )
  // a dimension the daily rollup does not keep: hours in the middle
  assert.deepEqual(
    show(
      costSegments(
        { fromMs: t('2026-11-01T18:00:00Z'), toMs: t('2026-11-04T00:00:00Z') },
        ['customer', 'model'],
        minuteFrom,
      ),
    ),
    ['spend_by_hour 2026-11-01T18:00:00.000Z..2026-11-04T00:00:00.000Z'],
  )
  assert.deepEqual(
    show(
      costSegments(
        { fromMs: t('2026-11-01T00:00:00Z'), toMs: t('2026-12-01T00:00:00Z') },
        ['tier', 'day'],
        minuteFrom,
      ),
    ),
    ['spend_by_customer_day 2026-11-01T00:00:00.000Z..2026-12-01T00:00:00.000Z'],
  )
  assert.deepEqual(
    show(
      costSegments(
        { fromMs: t('2026-11-01T00:00:00Z'), toMs: t('2026-11-03T00:00:00Z') },
        ['hour'],
        minuteFrom,
      ),
    ),
    ['spend_by_hour 2026-11-01T00:00:00.000Z..2026-11-03T00:00:00.000Z'],
  )
  // minute edges older than the minute rollup keeps: raw rows
  assert.deepEqual(
    show(
      costSegments({ fromMs: t('2026-10-01T10:30:00Z'), toMs: t('2026-10-01T12:00:00Z') }, [], minuteFrom),
    ),
    [
      'requests 2026-10-01T10:30:00.000Z..2026-10-01T11:00:00.000Z',
      'spend_by_hour 2026-10-01T11:00:00.000Z..2026-10-01T12:00:00.000Z',
    ],
  )
})
