import { test } from 'node:test'
import assert from 'node:assert/strict'
import { signWebhook, verifyWebhookSignature } from './webhook-signature.js'

// computed independently: printf '%s' '1764000000.{"version":1,"id":"ntf_1"}' | openssl dgst -sha256 -hmac whsec-test
const VECTOR = 'sha256=1d2b0328b94ed0ce95271eea61de8d606b2c1a9c87cf3a7daf6dde95dcaa2a0c'
const body = '{"version":1,"id":"ntf_1"}'
const ts = '1764000000'
const now = 1764000000 * 1000 + 10_000

test('signature = sha256=hex(HMAC-SHA256(secret, "<timestamp>.<raw body>"))', () => {
  assert.equal(signWebhook('whsec-test', ts, body), VECTOR)
  assert.equal(signWebhook('whsec-test', Number(ts), Buffer.from(body)), VECTOR)
})

test('verifyWebhookSignature: table', () => {
  const ok = { secret: 'whsec-test', body, signature: VECTOR, timestamp: ts, now }
  const cases: Array<
    [string, Parameters<typeof verifyWebhookSignature>[0], ReturnType<typeof verifyWebhookSignature>]
  > = [
    ['valid', ok, { ok: true }],
    ['valid from raw bytes', { ...ok, body: Buffer.from(body) }, { ok: true }],
    [
      're-serialised JSON differs',
      { ...ok, body: JSON.stringify(JSON.parse(body), null, 1) },
      { ok: false, reason: 'mismatch' },
    ],
    ['wrong secret', { ...ok, secret: 'other' }, { ok: false, reason: 'mismatch' }],
    ['timestamp swapped', { ...ok, timestamp: '1764000001' }, { ok: false, reason: 'mismatch' }],
    ['no signature', { ...ok, signature: undefined }, { ok: false, reason: 'missing' }],
    ['repeated header', { ...ok, signature: [VECTOR, VECTOR] }, { ok: false, reason: 'missing' }],
    ['not hex', { ...ok, signature: 'sha256=zz' }, { ok: false, reason: 'malformed' }],
    [
      'other algorithm',
      { ...ok, signature: VECTOR.replace('sha256', 'sha1') },
      { ok: false, reason: 'malformed' },
    ],
    ['timestamp in ms', { ...ok, timestamp: `${ts}000` }, { ok: false, reason: 'malformed' }],
    ['timestamp far off', { ...ok, timestamp: '1000000000' }, { ok: false, reason: 'expired' }],
    ['6 minutes late', { ...ok, now: now + 360_000 }, { ok: false, reason: 'expired' }],
    ['6 minutes late, tolerance 10 min', { ...ok, now: now + 360_000, toleranceSec: 600 }, { ok: true }],
  ]
  for (const [name, args, want] of cases) assert.deepEqual(verifyWebhookSignature(args), want, name)
})
