import { test } from 'node:test'
import assert from 'node:assert/strict'
import { currentMonthUtc, planCostQuery } from './cost-plan.js'

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
