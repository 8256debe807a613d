import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { dedupeKey, parseDedupeKey } from './dedupe-key.js'

test('dedupeKey: parts URI-encoded (plain ones as they are), parsed back', () => {
  assert.equal(dedupeKey('loop', 'key', 'abc-123_x.y'), 'loop:key:abc-123_x.y')
  assert.equal(dedupeKey('zombie_agent', 'off_hours', 'a:b c'), 'zombie_agent:off_hours:a%3Ab%20c')
  assert.deepEqual(parseDedupeKey('zombie_agent:off_hours:a%3Ab%20c'), {
    type: 'zombie_agent',
    parts: ['off_hours', 'a:b c'],
  })
})

test('property: the key is the URI encoding of every part, and parses back to the parts', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 4 }), (parts) => {
      const key = dedupeKey('loop', ...parts)
      assert.equal(key, ['loop', ...parts.map((p) => encodeURIComponent(p))].join(':'))
      assert.deepEqual(parseDedupeKey(key), { type: 'loop', parts })
    }),
  )
})
