import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { StoredIds } from './stored-ids.js'

const MIN = 60_000
const T0 = Date.UTC(2026, 11, 3, 12)

test('until cover() every lookup asks the store; after it, unseen ids in a covered window are new', () => {
  const f = new StoredIds()
  f.add('a', T0)
  assert.deepEqual(f.candidates(['a', 'b'], T0 - 10 * MIN, T0 + 10 * MIN), { kind: 'uncovered' })
  f.cover(T0 - 60 * MIN)
  assert.deepEqual(f.candidates(['a', 'b'], T0 - 10 * MIN, T0 + 10 * MIN), { kind: 'covered', ids: ['a'] })
  // 'a' was filed at T0: a window that does not hold T0 cannot find it stored
  assert.deepEqual(f.candidates(['a'], T0 + MIN * 6, T0 + 20 * MIN), { kind: 'covered', ids: [] })
})

test('a window reaching back to what the store held before the filter began asks the store for every id', () => {
  const f = new StoredIds()
  f.cover(T0)
  assert.equal(f.candidates(['x'], T0 - MIN, T0 + MIN).kind, 'uncovered')
  assert.equal(f.candidates(['x'], T0 + 500, T0 + MIN).kind, 'uncovered', 'within the 1 s slack')
  assert.deepEqual(f.candidates(['x'], T0 + 2_000, T0 + MIN), { kind: 'covered', ids: [] })
  // an id older than the cover is not filed (its windows ask the store anyway)
  f.add('old', T0 - MIN)
  assert.equal(f.stats().buckets, 0)
})

test('a window wider than maxWindowBuckets asks the store', () => {
  const f = new StoredIds({ bucketMs: MIN, maxWindowBuckets: 10 })
  f.cover(0)
  assert.equal(f.candidates(['x'], T0, T0 + 9 * MIN).kind, 'covered')
  assert.equal(f.candidates(['x'], T0, T0 + 10 * MIN).kind, 'uncovered')
})

test('past maxBits the oldest buckets go, and windows reaching them ask the store; newer ones still answer', () => {
  // each bucket's first segment: 4,096 ids x 8 bits = 32,768 bits; room for three
  const f = new StoredIds({ bucketMs: MIN, bitsPerId: 8, maxBits: 3 * 32_768 })
  f.cover(0)
  for (let m = 0; m < 5; m++) f.add(`id-${m}`, T0 + m * MIN)
  const s = f.stats()
  assert.equal(s.buckets, 3)
  assert.ok(s.bits <= 3 * 32_768)
  assert.equal(s.evictedBelow, T0 + 2 * MIN, 'the buckets of minutes 0 and 1 went')
  assert.equal(f.candidates(['id-1'], T0 + MIN, T0 + 3 * MIN).kind, 'uncovered')
  assert.deepEqual(f.candidates(['id-3', 'id-9'], T0 + 2 * MIN, T0 + 4 * MIN + 59_999), {
    kind: 'covered',
    ids: ['id-3'],
  })
  // an event older than what was evicted is not filed
  f.add('late', T0)
  assert.equal(f.stats().buckets, 3)
})

test('a bucket that outgrows its segment chains a larger one and still finds every id', () => {
  const f = new StoredIds({ bucketMs: 60 * MIN })
  f.cover(0)
  const ids = Array.from({ length: 20_000 }, (_, i) => `evt-${i}`)
  for (const id of ids) f.add(id, T0)
  const got = f.candidates(ids, T0 - MIN, T0 + MIN)
  assert.equal(got.kind, 'covered')
  assert.equal(got.kind === 'covered' && got.ids.length, ids.length)
})

test('false positives: 100k fresh ids against 200k filed in the same window stay under 0.1%', () => {
  const f = new StoredIds()
  f.cover(0)
  for (let i = 0; i < 200_000; i++) f.add(`litellm-${i}-0f9c2e`, T0 + (i % 600) * 1_000)
  const fresh = Array.from({ length: 100_000 }, (_, i) => `litellm-${i}-fresh`)
  const got = f.candidates(fresh, T0 - 10 * MIN, T0 + 20 * MIN)
  assert.equal(got.kind, 'covered')
  const fp = got.kind === 'covered' ? got.ids.length : NaN
  assert.ok(fp < 100, `${fp} false positives of 100,000`)
})

test('property: an id filed at ts is a candidate of every covered window holding ts (no false negatives)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          id: fc.string({ minLength: 1, maxLength: 12 }),
          dt: fc.integer({ min: 0, max: 120 * MIN }),
        }),
        {
          maxLength: 200,
        },
      ),
      fc.integer({ min: 0, max: 120 * MIN }),
      fc.integer({ min: 0, max: 60 * MIN }),
      fc.integer({ min: 20_000, max: 400_000 }),
      (rows, from, span, maxBits) => {
        const f = new StoredIds({ bucketMs: 5 * MIN, bitsPerId: 8, maxBits, maxWindowBuckets: 8 })
        f.cover(T0 - MIN)
        for (const r of rows) f.add(r.id, T0 + r.dt)
        const minTs = T0 + from
        const maxTs = minTs + span
        const got = f.candidates(
          rows.map((r) => r.id),
          minTs,
          maxTs,
        )
        if (got.kind === 'uncovered') return
        const maybe = new Set(got.ids)
        for (const r of rows) {
          const ts = T0 + r.dt
          if (ts >= minTs && ts <= maxTs) assert.ok(maybe.has(r.id), `${r.id} at +${r.dt} ms missing`)
        }
      },
    ),
  )
})
