import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { RowBinaryWriter, decimalUnits } from './row-binary.js'

test('decimalUnits: the shortest decimal form, cut (not rounded) at the scale', () => {
  assert.equal(decimalUnits(0), 0n)
  assert.equal(decimalUnits(0.000123), 1_230_000n)
  assert.equal(decimalUnits(1.23e-7), 1230n)
  assert.equal(decimalUnits(5e-11), 0n)
  assert.equal(decimalUnits(1e-10), 1n)
  assert.equal(decimalUnits(0.30000000000000004), 3_000_000_000n)
  assert.equal(decimalUnits(30.87857167735), 308_785_716_773n)
  assert.equal(decimalUnits(999999.9999999981), 9_999_999_999_999_981n)
  assert.equal(decimalUnits(1_000_000), 10_000_000_000_000_000n)
  assert.equal(decimalUnits(12), 120_000_000_000n)
  assert.equal(decimalUnits(2.5, 2), 250n)
})

test('property: decimalUnits agrees with the number to within one unit', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1_000_000, noNaN: true }), (x) => {
      const units = Number(decimalUnits(x)) / 1e10
      assert.ok(Math.abs(units - x) <= 1e-10 + x * 1e-15, `${x} -> ${units}`)
    }),
  )
})

test('strings: UTF-8 length prefix (LEB128) then bytes, short and long, multi-byte', () => {
  for (const s of [
    '',
    'a',
    'é',
    '€'.repeat(42),
    'x'.repeat(127),
    'x'.repeat(128),
    'y'.repeat(300),
    '😀'.repeat(50),
  ]) {
    const w = new RowBinaryWriter(4)
    w.string(s)
    const b = w.bytes()
    let n = 0
    let shift = 0
    let i = 0
    for (;;) {
      const byte = b[i++]!
      n += (byte & 0x7f) * 2 ** shift
      shift += 7
      if (byte < 0x80) break
    }
    assert.equal(n, Buffer.byteLength(s))
    assert.equal(b.subarray(i).toString('utf8'), s)
  }
})

test('integers: little-endian, 64-bit values past 2^32', () => {
  const w = new RowBinaryWriter(2)
  w.uint16(0x1234)
  w.uint32(0xdeadbeef)
  w.int64(Date.UTC(2099, 11, 31))
  w.uint64(10_000_000_000_000_000n)
  const b = w.bytes()
  assert.equal(b.readUInt16LE(0), 0x1234)
  assert.equal(b.readUInt32LE(2), 0xdeadbeef)
  assert.equal(b.readBigUInt64LE(6), BigInt(Date.UTC(2099, 11, 31)))
  assert.equal(b.readBigUInt64LE(14), 10_000_000_000_000_000n)
})
