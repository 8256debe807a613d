import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bufferPeek, bufferPop, bufferPush, initReorderBuffer, watermark } from './watermark.js'
import { dedupeKey, parseDedupeKey } from './dedupe-key.js'
import { evictOver } from './lru.js'
import { ev, prng } from '../../test/support/detector-fixtures.js'

test('reorder buffer releases in (ts, event_id) order whatever the arrival order', () => {
  const rnd = prng(3)
  const events = Array.from({ length: 500 }, (_, i) =>
    ev({ event_id: `e${String(i).padStart(3, '0')}`, ts: Math.floor(rnd() * 50) }),
  )
  const buf = initReorderBuffer()
  for (const e of events) bufferPush(buf, e)
  const out: string[] = []
  for (let e = bufferPop(buf); e; e = bufferPop(buf)) out.push(`${e.ts}/${e.event_id}`)
  const want = [...events]
    .sort((a, b) => a.ts - b.ts || (a.event_id < b.event_id ? -1 : 1))
    .map((e) => `${e.ts}/${e.event_id}`)
  assert.deepEqual(out, want)
  assert.equal(bufferPeek(buf), undefined)
})

test('watermark: latest event time (or the injected clock) minus the allowed lateness', () => {
  const buf = initReorderBuffer()
  bufferPush(buf, ev({ ts: 100_000 }))
  bufferPush(buf, ev({ ts: 40_000 }))
  assert.equal(watermark(buf, 30_000), 70_000)
  assert.equal(watermark(buf, 30_000, 200_000), 170_000)
  assert.equal(watermark(buf, 30_000, 50_000), 70_000)
})

const keys: Array<[string, string[]]> = [
  ['burn_rate', ['acme-monthly', 'page', 'customer', 'acme']],
  ['loop', ['trace', 'a:b/c d', 'fp', 'f00']],
  ['zombie_agent', ['off_hours', 'key:batch']],
]
for (const [type, parts] of keys) {
  test(`dedupe keys round-trip (${type} ${parts.join(' ')})`, () => {
    const key = dedupeKey(type as 'loop', ...parts)
    assert.deepEqual(parseDedupeKey(key), { type, parts })
  })
}

test('dedupe keys: foreign keys are not ours', () => {
  assert.equal(parseDedupeKey('something:else'), null)
  assert.equal(parseDedupeKey('loop:%E0%A4%A'), null)
})

test('evictOver drops the oldest down to 90% of the cap, in insertion order', () => {
  const m = new Map<number, number>()
  const gone: number[] = []
  for (let i = 0; i < 11; i++) {
    m.set(i, i)
    evictOver(m, 10, (k) => gone.push(k))
  }
  assert.deepEqual(gone, [0, 1])
  assert.deepEqual([...m.keys()], [2, 3, 4, 5, 6, 7, 8, 9, 10])
  assert.equal(evictOver(new Map([[1, 1]]), 1), 0)
})
