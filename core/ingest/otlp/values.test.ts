import { test } from 'node:test'
import assert from 'node:assert/strict'
import { anyValue, attributeRecord, int64ToNumber, nanosToMs, normalizeId } from './values.js'

const traceHex = '5eb47b0f82231d3260ad3d7795d9839e'
const spanHex = '00465d480d6eed01'

test('ids: hex (JSON), base64 (protobuf decoded), bytes; invalid ones are null', () => {
  const cases: Array<[Parameters<typeof normalizeId>[0], 8 | 16, string | null]> = [
    [traceHex, 16, traceHex],
    [traceHex.toUpperCase(), 16, traceHex],
    [Buffer.from(traceHex, 'hex').toString('base64'), 16, traceHex],
    [Buffer.from(traceHex, 'hex').toString('base64url'), 16, traceHex],
    [new Uint8Array(Buffer.from(spanHex, 'hex')), 8, spanHex],
    [Buffer.from(spanHex, 'hex').toString('base64'), 8, spanHex],
    ['00000000000000000000000000000000', 16, null],
    ['', 16, null],
    [spanHex, 16, null],
    ['not an id!', 8, null],
    [undefined, 8, null],
  ]
  for (const [input, bytes, want] of cases) assert.equal(normalizeId(input, bytes), want, String(input))
})

test('nanos to ms: strings, numbers, bigint and Long; rounded to the nearest ms', () => {
  assert.equal(nanosToMs('1795684957386721000'), 1795684957387)
  assert.equal(nanosToMs('1795684957386499999'), 1795684957386)
  assert.equal(nanosToMs(1795684957386721000), 1795684957387)
  assert.equal(nanosToMs(1795684957386721000n), 1795684957387)
  const n = 1795684957386721000n
  assert.equal(
    nanosToMs({ low: Number(n & 0xffffffffn) | 0, high: Number(n >> 32n), unsigned: false }),
    1795684957387,
  )
  for (const bad of ['0', 0, '-5', 'abc', '1.5e18', undefined, null])
    assert.equal(nanosToMs(bad as never), null, String(bad))
  assert.equal(int64ToNumber('42'), 42)
  assert.equal(int64ToNumber({ low: -1, high: 0, unsigned: true }), 4294967295)
})

test('attribute values: oneof unwrapped, nested arrays and kvlists, first key wins', () => {
  const rec = attributeRecord([
    { key: 's', value: { stringValue: 'x' } },
    { key: 'i', value: { intValue: '30' } },
    { key: 'd', value: { doubleValue: 0.5 } },
    { key: 'b', value: { boolValue: false } },
    { key: 'a', value: { arrayValue: { values: [{ stringValue: 'p' }, { intValue: 2 }] } } },
    { key: 'k', value: { kvlistValue: { values: [{ key: 'inner', value: { stringValue: 'v' } }] } } },
    { key: 'bytes', value: { bytesValue: new Uint8Array([1, 2, 3]) } },
    { key: 'empty', value: {} },
    { key: 's', value: { stringValue: 'second' } },
  ])
  assert.deepEqual(rec, {
    s: 'x',
    i: 30,
    d: 0.5,
    b: false,
    a: ['p', 2],
    k: { inner: 'v' },
    bytes: 'AQID',
    empty: null,
  })
  assert.equal(anyValue({ intValue: '0' }), 0)
  assert.equal(anyValue(undefined), null)
})
