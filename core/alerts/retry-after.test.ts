import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseRetryAfter } from './retry-after.js'

const now = Date.parse('2026-11-24T12:00:00Z')

test('Retry-After: seconds, HTTP-dates, junk', () => {
  const cases: Array<[string | null | undefined, number | undefined]> = [
    [undefined, undefined],
    [null, undefined],
    ['', undefined],
    ['0', 0],
    ['1', 1000],
    [' 120 ', 120_000],
    ['Tue, 24 Nov 2026 12:00:30 GMT', 30_000],
    ['Tue, 24 Nov 2026 11:59:00 GMT', 0],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
  ]
  for (const [value, want] of cases) assert.equal(parseRetryAfter(value, now), want, String(value))
})
