import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { hoursStretch, parseDays, stretchOf } from './business-hours.js'
import { t } from '../../test/support/detector-fixtures.js'

test('parseDays: ranges, lists and wrap-around', () => {
  assert.deepEqual([...parseDays('mon-fri')].sort(), [1, 2, 3, 4, 5])
  assert.deepEqual([...parseDays('mon,wed,fri')].sort(), [1, 3, 5])
  assert.deepEqual([...parseDays('fri-mon')].sort(), [1, 5, 6, 7])
  assert.deepEqual([...parseDays('sat-sun')].sort(), [6, 7])
})

const bh = (p: Partial<{ days: string; from: string; to: string; timezone: string }> = {}) => ({
  days: 'mon-fri',
  from: '08:00',
  to: '19:00',
  timezone: 'UTC',
  ...p,
})

const cases: Array<{
  name: string
  hours: ReturnType<typeof bh>
  at: string
  business: boolean
  start: string
  end: string
}> = [
  {
    name: 'weekday working hours',
    hours: bh(),
    at: '2026-11-26T10:00:00Z',
    business: true,
    start: '2026-11-26T08:00:00Z',
    end: '2026-11-26T19:00:00Z',
  },
  {
    name: 'weekday night: one stretch to the next morning',
    hours: bh(),
    at: '2026-11-26T23:00:00Z',
    business: false,
    start: '2026-11-26T19:00:00Z',
    end: '2026-11-27T08:00:00Z',
  },
  {
    name: 'early morning belongs to the stretch that began last evening',
    hours: bh(),
    at: '2026-11-27T06:00:00Z',
    business: false,
    start: '2026-11-26T19:00:00Z',
    end: '2026-11-27T08:00:00Z',
  },
  {
    name: 'the weekend is one stretch',
    hours: bh(),
    at: '2026-11-28T12:00:00Z',
    business: false,
    start: '2026-11-27T19:00:00Z',
    end: '2026-11-30T08:00:00Z',
  },
  {
    name: '`to` is exclusive',
    hours: bh(),
    at: '2026-11-26T19:00:00Z',
    business: false,
    start: '2026-11-26T19:00:00Z',
    end: '2026-11-27T08:00:00Z',
  },
  {
    name: 'Paris local hours (winter, UTC+1)',
    hours: bh({ timezone: 'Europe/Paris' }),
    at: '2026-11-26T18:30:00Z',
    business: false,
    start: '2026-11-26T18:00:00Z',
    end: '2026-11-27T07:00:00Z',
  },
  {
    name: 'Paris weekend across DST start (Mar 29)',
    hours: bh({ timezone: 'Europe/Paris' }),
    at: '2026-03-29T12:00:00Z',
    business: false,
    start: '2026-03-27T18:00:00Z',
    end: '2026-03-30T06:00:00Z',
  },
  {
    name: 'New York weekend across DST end (Nov 1)',
    hours: bh({ timezone: 'America/New_York' }),
    at: '2026-11-01T12:00:00Z',
    business: false,
    start: '2026-10-30T23:00:00Z',
    end: '2026-11-02T13:00:00Z',
  },
  {
    name: 'overnight business hours (22:00-06:00)',
    hours: bh({ from: '22:00', to: '06:00' }),
    at: '2026-11-27T02:00:00Z',
    business: true,
    start: '2026-11-26T22:00:00Z',
    end: '2026-11-27T06:00:00Z',
  },
  {
    name: 'whole days (00:00-00:00) merge into one stretch',
    hours: bh({ from: '00:00', to: '00:00' }),
    at: '2026-11-25T12:00:00Z',
    business: true,
    start: '2026-11-23T00:00:00Z',
    end: '2026-11-28T00:00:00Z',
  },
]

for (const c of cases) {
  test(`hoursStretch: ${c.name}`, () => {
    const s = hoursStretch(c.hours, t(c.at))
    assert.equal(s.business, c.business)
    assert.equal(new Date(s.start).toISOString(), new Date(t(c.start)).toISOString())
    assert.equal(new Date(s.end).toISOString(), new Date(t(c.end)).toISOString())
  })
}

test('the memoised stretch is the computed one, whatever order times are asked in (DST weeks included)', () => {
  const settings = [
    bh(),
    bh({ timezone: 'Europe/Berlin', from: '02:30', to: '18:00' }),
    bh({ timezone: 'America/New_York', from: '22:00', to: '06:00', days: 'fri-mon' }),
    bh({ timezone: 'Asia/Kolkata', from: '09:00', to: '09:00', days: 'mon,wed' }),
  ]
  // around the 2026 spring-forward (29 March in Europe, 8 March in the US) and an ordinary stretch
  const from = Date.UTC(2026, 2, 1)
  const to = Date.UTC(2026, 3, 15)
  fc.assert(
    fc.property(
      fc.constantFrom(...settings.keys()),
      fc.array(fc.integer({ min: from, max: to }), { minLength: 1, maxLength: 60 }),
      (which, times) => {
        for (const ts of times) {
          const got = hoursStretch(settings[which]!, ts)
          assert.deepEqual({ ...got }, stretchOf(settings[which]!, ts), new Date(ts).toISOString())
          assert.ok(ts >= got.start && ts < got.end)
        }
      },
    ),
    { numRuns: 200 },
  )
})
