import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readInstant } from './timestamps.js'

const MS = 1739235379683

test('reads seconds, ms, µs, ns, numeric strings and ISO', () => {
  const cases: Array<[unknown, string]> = [
    [1739235379.683, 's'],
    [MS, 'ms'],
    [MS * 1000, 'us'],
    [MS * 1e6, 'ns'],
    ['1739235379.683', 's'],
    ['2025-02-11T00:56:19.683Z', 'iso'],
  ]
  for (const [v, unit] of cases) {
    const r = readInstant(v)
    assert.ok(r.ok, String(v))
    assert.equal(r.ms, MS, String(v))
    assert.equal(r.unit, unit)
  }
})

test('rejects missing, non-numeric and out-of-range values', () => {
  for (const v of [undefined, null, NaN, 'soon', {}, 946684799, 5e12]) {
    assert.equal(readInstant(v).ok, false, JSON.stringify(v))
  }
})
