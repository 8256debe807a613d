import { test } from 'node:test'
import assert from 'node:assert/strict'
import { daySums } from './rollup-repair.js'

const sums = (cost: string, requests = '1') => ({
  requests,
  failures: '0',
  cache_hits: '0',
  input_tokens: '10',
  output_tokens: '5',
  cached_tokens: '0',
  cost_usd: cost,
})

test('daySums adds the hours of each UTC day exactly, in decimal text', () => {
  const day = 1_796_256_000 // 2026-12-03T00:00:00Z
  const byHour = new Map([
    [day, sums('0.1000000001')],
    [day + 3_600, sums('0.2000000002', '2')],
    [day + 23 * 3_600, sums('12345678901234567.9999999999', '18446744073709551615')],
    [day + 86_400, sums('0')],
    [day + 86_400 + 7_200, sums('-0.5')],
  ])
  const out = daySums(byHour)
  assert.deepEqual([...out.keys()], [day, day + 86_400])
  // 0.1 + 0.2 in floats is 0.30000000000000004; here the digits add up exactly
  assert.equal(out.get(day)!.cost_usd, '12345678901234568.3000000002')
  assert.equal(out.get(day)!.requests, '18446744073709551618')
  assert.equal(out.get(day)!.input_tokens, '30')
  assert.equal(out.get(day + 86_400)!.cost_usd, '-0.5')
  assert.equal(out.get(day + 86_400)!.failures, '0')
})
