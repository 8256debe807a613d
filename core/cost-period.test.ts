import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { CostPeriod } from '../schemas/api.js'
import { monthRange, previousRange, resolvePeriod } from './cost-period.js'

const iso = (ms: number) => new Date(ms).toISOString()
const show = (p: ReturnType<typeof resolvePeriod>) => [
  iso(p.fromMs),
  iso(p.toMs),
  iso(p.previous.fromMs),
  iso(p.previous.toMs),
]

// Tuesday 2026-11-03 09:30:12 UTC: 10:30 in Paris (CET), 04:30 in New York (EST, DST ended 1 Nov)
const now = Date.parse('2026-11-03T09:30:12.345Z')

const cases: Array<[CostPeriod, string, string[]]> = [
  [
    'today',
    'UTC',
    [
      '2026-11-03T00:00:00.000Z',
      '2026-11-04T00:00:00.000Z',
      '2026-11-02T00:00:00.000Z',
      '2026-11-03T00:00:00.000Z',
    ],
  ],
  [
    'yesterday',
    'UTC',
    [
      '2026-11-02T00:00:00.000Z',
      '2026-11-03T00:00:00.000Z',
      '2026-11-01T00:00:00.000Z',
      '2026-11-02T00:00:00.000Z',
    ],
  ],
  [
    'this_month',
    'UTC',
    [
      '2026-11-01T00:00:00.000Z',
      '2026-12-01T00:00:00.000Z',
      '2026-10-01T00:00:00.000Z',
      '2026-11-01T00:00:00.000Z',
    ],
  ],
  [
    'last_month',
    'UTC',
    [
      '2026-10-01T00:00:00.000Z',
      '2026-11-01T00:00:00.000Z',
      '2026-09-01T00:00:00.000Z',
      '2026-10-01T00:00:00.000Z',
    ],
  ],
  [
    'mtd',
    'UTC',
    [
      '2026-11-01T00:00:00.000Z',
      '2026-11-03T10:00:00.000Z',
      '2026-10-01T00:00:00.000Z',
      '2026-10-03T10:00:00.000Z',
    ],
  ],
  [
    'last_7d',
    'UTC',
    [
      '2026-10-27T00:00:00.000Z',
      '2026-11-03T00:00:00.000Z',
      '2026-10-20T00:00:00.000Z',
      '2026-10-27T00:00:00.000Z',
    ],
  ],
  [
    'last_30d',
    'UTC',
    [
      '2026-10-04T00:00:00.000Z',
      '2026-11-03T00:00:00.000Z',
      '2026-09-04T00:00:00.000Z',
      '2026-10-04T00:00:00.000Z',
    ],
  ],
  // Paris: days start at 23:00 UTC in winter, 22:00 in summer (DST ended 25 October)
  [
    'today',
    'Europe/Paris',
    [
      '2026-11-02T23:00:00.000Z',
      '2026-11-03T23:00:00.000Z',
      '2026-11-01T23:00:00.000Z',
      '2026-11-02T23:00:00.000Z',
    ],
  ],
  [
    'last_month',
    'Europe/Paris',
    [
      '2026-09-30T22:00:00.000Z',
      '2026-10-31T23:00:00.000Z',
      '2026-08-31T22:00:00.000Z',
      '2026-09-30T22:00:00.000Z',
    ],
  ],
  [
    'last_7d',
    'Europe/Paris',
    [
      '2026-10-26T23:00:00.000Z',
      '2026-11-02T23:00:00.000Z',
      '2026-10-19T22:00:00.000Z',
      '2026-10-26T23:00:00.000Z',
    ],
  ],
  // New York: 04:30 local, so "today" began at 05:00 UTC; its month at 04:00 UTC (still EDT on 1 Nov)
  [
    'this_month',
    'America/New_York',
    [
      '2026-11-01T04:00:00.000Z',
      '2026-12-01T05:00:00.000Z',
      '2026-10-01T04:00:00.000Z',
      '2026-11-01T04:00:00.000Z',
    ],
  ],
  [
    'yesterday',
    'America/New_York',
    [
      '2026-11-02T05:00:00.000Z',
      '2026-11-03T05:00:00.000Z',
      '2026-11-01T04:00:00.000Z',
      '2026-11-02T05:00:00.000Z',
    ],
  ],
  // Kolkata (+05:30): ranges start on half hours
  [
    'today',
    'Asia/Kolkata',
    [
      '2026-11-02T18:30:00.000Z',
      '2026-11-03T18:30:00.000Z',
      '2026-11-01T18:30:00.000Z',
      '2026-11-02T18:30:00.000Z',
    ],
  ],
]

for (const [period, tz, want] of cases) {
  test(`${period} in ${tz}`, () => {
    assert.deepEqual(show(resolvePeriod(period, tz, now)), want)
  })
}

test('a local day across the DST change is 25 hours long', () => {
  const p = resolvePeriod('yesterday', 'Europe/Paris', Date.parse('2026-10-26T12:00:00Z'))
  assert.equal(p.toMs - p.fromMs, 25 * 3_600_000)
})

test('mtd on the 31st compares with the whole previous month when that month is shorter', () => {
  const p = resolvePeriod('mtd', 'UTC', Date.parse('2026-12-31T20:10:00Z'))
  assert.deepEqual(show(p), [
    '2026-12-01T00:00:00.000Z',
    '2026-12-31T21:00:00.000Z',
    '2026-11-01T00:00:00.000Z',
    '2026-12-01T00:00:00.000Z',
  ])
})

test('January rolls back to December of the year before', () => {
  const p = resolvePeriod('last_month', 'UTC', Date.parse('2027-01-15T00:00:00Z'))
  assert.deepEqual(show(p).slice(0, 2), ['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'])
})

test('the previous range of an explicit range has the same length and ends where it starts', () => {
  const r = { fromMs: Date.parse('2026-11-10T00:00:00Z'), toMs: Date.parse('2026-11-13T06:00:00Z') }
  const p = previousRange(r)
  assert.equal(p.toMs, r.fromMs)
  assert.equal(p.toMs - p.fromMs, r.toMs - r.fromMs)
})

test('monthRange: a calendar month in a zone and the month before; bad months are undefined', () => {
  const m = monthRange('2026-03', 'Europe/Paris')
  assert.ok(m)
  assert.deepEqual(show(m), [
    '2026-02-28T23:00:00.000Z',
    '2026-03-31T22:00:00.000Z',
    '2026-01-31T23:00:00.000Z',
    '2026-02-28T23:00:00.000Z',
  ])
  for (const bad of ['2026-13', '2026-1', 'october', '2026-00'])
    assert.equal(monthRange(bad, 'UTC'), undefined)
})
