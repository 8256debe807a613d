import { test } from 'node:test'
import assert from 'node:assert/strict'
import { budgetPeriod, calendarPeriod, memoPeriod, periodHours, type PeriodKind } from './periods.js'
import { budget, t } from '../../test/support/detector-fixtures.js'

const cases: Array<{
  name: string
  kind: PeriodKind
  tz: string
  at: string
  start: string
  end: string
  hours: number
}> = [
  {
    name: 'UTC month',
    kind: 'month',
    tz: 'UTC',
    at: '2026-11-15T12:00:00Z',
    start: '2026-11-01T00:00:00Z',
    end: '2026-12-01T00:00:00Z',
    hours: 720,
  },
  {
    name: 'last ms of a month',
    kind: 'month',
    tz: 'UTC',
    at: '2026-11-30T23:59:59.999Z',
    start: '2026-11-01T00:00:00Z',
    end: '2026-12-01T00:00:00Z',
    hours: 720,
  },
  {
    name: 'first ms of the next month',
    kind: 'month',
    tz: 'UTC',
    at: '2026-12-01T00:00:00Z',
    start: '2026-12-01T00:00:00Z',
    end: '2027-01-01T00:00:00Z',
    hours: 744,
  },
  {
    name: 'February',
    kind: 'month',
    tz: 'UTC',
    at: '2027-02-10T00:00:00Z',
    start: '2027-02-01T00:00:00Z',
    end: '2027-03-01T00:00:00Z',
    hours: 672,
  },
  {
    name: 'Paris month end is local midnight',
    kind: 'month',
    tz: 'Europe/Paris',
    at: '2026-11-30T23:30:00Z',
    start: '2026-11-30T23:00:00Z',
    end: '2026-12-31T23:00:00Z',
    hours: 744,
  },
  {
    name: 'Paris March has 743 h (spring forward)',
    kind: 'month',
    tz: 'Europe/Paris',
    at: '2026-03-15T12:00:00Z',
    start: '2026-02-28T23:00:00Z',
    end: '2026-03-31T22:00:00Z',
    hours: 743,
  },
  {
    name: 'Paris DST start day lasts 23 h',
    kind: 'day',
    tz: 'Europe/Paris',
    at: '2026-03-29T12:00:00Z',
    start: '2026-03-28T23:00:00Z',
    end: '2026-03-29T22:00:00Z',
    hours: 23,
  },
  {
    name: 'Paris DST end day lasts 25 h',
    kind: 'day',
    tz: 'Europe/Paris',
    at: '2026-10-25T12:00:00Z',
    start: '2026-10-24T22:00:00Z',
    end: '2026-10-25T23:00:00Z',
    hours: 25,
  },
  {
    name: 'Paris ISO week across DST start',
    kind: 'week',
    tz: 'Europe/Paris',
    at: '2026-03-26T12:00:00Z',
    start: '2026-03-22T23:00:00Z',
    end: '2026-03-29T22:00:00Z',
    hours: 167,
  },
  {
    name: 'New York DST start day lasts 23 h',
    kind: 'day',
    tz: 'America/New_York',
    at: '2026-03-08T12:00:00Z',
    start: '2026-03-08T05:00:00Z',
    end: '2026-03-09T04:00:00Z',
    hours: 23,
  },
  {
    name: 'New York DST end day lasts 25 h',
    kind: 'day',
    tz: 'America/New_York',
    at: '2026-11-01T12:00:00Z',
    start: '2026-11-01T04:00:00Z',
    end: '2026-11-02T05:00:00Z',
    hours: 25,
  },
  {
    name: 'New York November has 721 h',
    kind: 'month',
    tz: 'America/New_York',
    at: '2026-11-20T00:00:00Z',
    start: '2026-11-01T04:00:00Z',
    end: '2026-12-01T05:00:00Z',
    hours: 721,
  },
  {
    name: 'New York evening is still the local day',
    kind: 'day',
    tz: 'America/New_York',
    at: '2026-11-27T03:00:00Z',
    start: '2026-11-26T05:00:00Z',
    end: '2026-11-27T05:00:00Z',
    hours: 24,
  },
  {
    name: 'ISO week starts Monday (Thursday)',
    kind: 'week',
    tz: 'UTC',
    at: '2026-11-26T09:00:00Z',
    start: '2026-11-23T00:00:00Z',
    end: '2026-11-30T00:00:00Z',
    hours: 168,
  },
  {
    name: 'ISO week: Sunday belongs to the week before',
    kind: 'week',
    tz: 'UTC',
    at: '2026-11-29T23:00:00Z',
    start: '2026-11-23T00:00:00Z',
    end: '2026-11-30T00:00:00Z',
    hours: 168,
  },
  {
    name: 'ISO week across the new year',
    kind: 'week',
    tz: 'UTC',
    at: '2027-01-01T12:00:00Z',
    start: '2026-12-28T00:00:00Z',
    end: '2027-01-04T00:00:00Z',
    hours: 168,
  },
]

for (const c of cases) {
  test(`calendarPeriod: ${c.name}`, () => {
    const p = calendarPeriod(c.kind, c.tz, t(c.at))
    assert.equal(new Date(p.start).toISOString(), new Date(t(c.start)).toISOString())
    assert.equal(new Date(p.end).toISOString(), new Date(t(c.end)).toISOString())
    assert.equal(periodHours(p), c.hours)
    assert.ok(p.start <= t(c.at) && t(c.at) < p.end)
  })
}

test('budgetPeriod uses the budget period and time zone', () => {
  const b = budget({ period: 'day', timezone: 'Europe/Paris' })
  assert.deepEqual(budgetPeriod(b, t('2026-03-29T12:00:00Z')), {
    start: t('2026-03-28T23:00:00Z'),
    end: t('2026-03-29T22:00:00Z'),
  })
})

test('memoPeriod reuses the last period and moves on at the boundary', () => {
  const memo = { kind: 'day' as const, timezone: 'UTC', last: null }
  const a = memoPeriod(memo, t('2026-11-26T10:00:00Z'))
  assert.equal(memoPeriod(memo, t('2026-11-26T23:59:59Z')), a)
  const b = memoPeriod(memo, t('2026-11-27T00:00:00Z'))
  assert.equal(b.start, t('2026-11-27T00:00:00Z'))
  assert.deepEqual(memoPeriod(memo, t('2026-11-26T12:00:00Z')), a)
})
