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
