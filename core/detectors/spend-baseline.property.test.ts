import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { baselineAt, baselineHours, HOUR } from './spend-baseline.js'
import { newTier, tierAdd } from './spend-buckets.js'

// The live detector reads from the store only the hours `baselineHours` names: a tier of just those
// hours must give the very baseline the whole history gives, whatever the history looks like.
test('baselineAt reads no hour outside baselineHours (random sparse histories, 1-6 weeks, any start)', () => {
  const h = 500_000 // an epoch hour (2027)
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 6 * 168 + 30 }),
      fc.array(
        fc.tuple(fc.integer({ min: 1, max: 6 * 168 + 30 }), fc.double({ min: 0, max: 50, noNaN: true })),
        {
          maxLength: 400,
        },
      ),
      (weeks, age, spends) => {
        const from = h - age
        const whole = newTier(HOUR)
        const sorted = spends.map(([back, usd]) => [h - back, usd] as const).sort((a, b) => a[0] - b[0])
        for (const [hour, usd] of sorted) if (hour >= from) tierAdd(whole, hour * HOUR, usd)
        const keep = new Set(baselineHours(h, weeks))
        const part = newTier(HOUR)
        for (const [hour, usd] of sorted) if (hour >= from && keep.has(hour)) tierAdd(part, hour * HOUR, usd)
        assert.deepEqual(baselineAt(part, from, h, weeks), baselineAt(whole, from, h, weeks))
      },
    ),
    { numRuns: 2000 },
  )
})

test('baselineHours: sorted, distinct, all complete hours before h, from 4 weeks and 1 hour back', () => {
  const hs = baselineHours(1000, 4)
  assert.deepEqual(
    hs,
    [...new Set(hs)].sort((a, b) => a - b),
  )
  assert.equal(hs[0], 1000 - 4 * 168 - 1)
  assert.equal(hs.at(-1), 999)
  for (const x of [1000 + 1 - 24, 1000 - 23, 1000 - 168, 1000 + 1 - 7 * 24])
    assert.ok(hs.includes(x), String(x))
  assert.ok(!hs.includes(1000 - 24 - 2) && !hs.includes(1000 - 5 * 168))
})
