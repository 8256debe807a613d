import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { isGatewardenError } from '../../core/errors.js'
import { decodeBody, splitIngestBody } from './body.js'

const b = (s: string) => Buffer.from(s)

test('json array, single object, NDJSON by content type and by sniffing', () => {
  assert.equal(splitIngestBody(b('[{"a":1},{"a":2}]'), 'application/json').length, 2)
  assert.equal(splitIngestBody(b('{"a":1}'), 'application/json').length, 1)
  const nd = splitIngestBody(b('{"a":1}\n\n{"a":2}\nnot json\n'), 'application/x-ndjson')
  assert.equal(nd.length, 3)
  assert.ok(nd[0]!.ok && nd[1]!.ok && !nd[2]!.ok)
  assert.match((nd[2] as { reason: string }).reason, /line 4 is not JSON/)
  assert.equal(splitIngestBody(b('{"a":1}\n{"a":2}\n'), undefined).length, 2)
})

test('not JSON, empty, or a scalar is a 400-class error', () => {
  assert.throws(() => splitIngestBody(b('{nope'), 'application/json'), /not valid JSON/)
  assert.throws(() => splitIngestBody(b(''), 'application/json'), /empty body/)
  assert.throws(() => splitIngestBody(b('42'), 'application/json'), /got number/)
  assert.throws(() => splitIngestBody(b('null'), 'application/json'), /got null/)
})

test('gzip is decoded, bounded by the limit', () => {
  const big = gzipSync(Buffer.alloc(100_000, 32))
  assert.equal(decodeBody(big, 'gzip', 200_000).length, 100_000)
  assert.throws(
    () => decodeBody(big, 'gzip', 1000),
    (e) => isGatewardenError(e, 'GW_BODY_TOO_LARGE'),
  )
  assert.throws(() => decodeBody(b('plain'), 'gzip', 1000), /not valid gzip/)
  assert.throws(
    () => decodeBody(b('x'), 'br', 1000),
    (e) => isGatewardenError(e, 'GW_UNSUPPORTED_MEDIA_TYPE'),
  )
})
