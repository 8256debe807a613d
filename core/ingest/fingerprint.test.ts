import { test } from 'node:test'
import assert from 'node:assert/strict'
import { normalizeText, requestFingerprint } from './fingerprint.js'

const msgs = (text: string) => [
  { role: 'system', content: 'You summarise tickets.' },
  { role: 'user', content: text },
]

test('near-identical prompts (ids, timestamps, counters) share a fingerprint', () => {
  const a = requestFingerprint(
    'gpt-4o',
    msgs('Ticket 48213 at 2026-11-26T09:12:01Z id 3f2a9c1e-1111-4222-8333-444455556666'),
  )
  const b = requestFingerprint(
    'gpt-4o',
    msgs('Ticket 99120 at 2026-11-27T10:00:59Z id 0a0b0c0d-aaaa-4bbb-8ccc-ddddeeeeffff'),
  )
  assert.equal(a, b)
})

test('different prompts, models or tools differ', () => {
  const base = requestFingerprint('gpt-4o', msgs('summarise the ticket'))
  assert.notEqual(base, requestFingerprint('gpt-4o', msgs('translate the ticket')))
  assert.notEqual(base, requestFingerprint('gpt-4o-mini', msgs('summarise the ticket')))
  assert.notEqual(
    base,
    requestFingerprint('gpt-4o', msgs('summarise the ticket'), [
      { type: 'function', function: { name: 'search' } },
    ]),
  )
})

test('whitespace and content-part arrays normalise to the same text', () => {
  const a = requestFingerprint('m', [{ role: 'user', content: 'hello   world' }])
  const b = requestFingerprint('m', [{ role: 'user', content: [{ type: 'text', text: 'hello world' }] }])
  assert.equal(a, b)
})

test('no prompt or a redacted prompt gives no fingerprint', () => {
  assert.equal(requestFingerprint('m', undefined), '')
  assert.equal(requestFingerprint('m', 'redacted-by-litellm'), '')
})

test('normalizeText keeps short numbers (they are often meaningful)', () => {
  assert.equal(normalizeText('top 10 items, page 2'), 'top 10 items, page 2')
  assert.equal(normalizeText('order 123456'), 'order <n>')
})

test('normalizeText: each kind of volatile token, in one pass', () => {
  assert.equal(
    normalizeText(
      'id 3f2a9c1e-1111-4222-8333-444455556666 at 2026-11-26T09:12:01.123+01:00, then 09:15 on 2026-11-27,\n\n  sha deadbeef00112233 run 20451',
    ),
    'id <uuid> at <ts>, then <time> on <date>, sha <hex> run <n>',
  )
  assert.equal(normalizeText('  a \t b  '), 'a b')
  assert.equal(normalizeText('abcdefabcdef (no digit) 123'), 'abcdefabcdef (no digit) 123')
})

test('a long prompt: volatile tokens at either end still match, a different middle does not', () => {
  const context = 'tool output line with words and 42 things\n'.repeat(2_000) // ~88 KB
  const prompt = (head: string, middle: string, tail: string) => msgs(`${head}\n${middle}\n${tail}`)
  const a = requestFingerprint('m', prompt('run 2026-11-26T09:12:01Z', context, 'step 10001'))
  const b = requestFingerprint('m', prompt('run 2026-11-27T10:00:00Z', context, 'step 10002'))
  assert.equal(a, b)
  const changed = context.slice(0, 40_000) + 'something else entirely' + context.slice(40_023)
  assert.notEqual(a, requestFingerprint('m', prompt('run 2026-11-26T09:12:01Z', changed, 'step 10001')))
})
