import { test } from 'node:test'
import assert from 'node:assert/strict'
import { packRecords, unpackRecords } from './parse-pool.js'

test('Kafka records packed for a worker come back the same: values, nulls, empty values, order', () => {
  const records = [
    { topic: 'a', partition: 0, offset: '10', value: Buffer.from('{"x":1}') },
    { topic: 'a', partition: 0, offset: '11', value: null },
    { topic: 'a', partition: 0, offset: '12', value: Buffer.alloc(0) },
    { topic: 'b', partition: 3, offset: '9007199254740993', value: Buffer.from('ünïcode ✓') },
    // a view into a larger buffer, as kafkajs hands them out
    { topic: 'b', partition: 3, offset: '9007199254740994', value: Buffer.from('xxhelloxx').subarray(2, 7) },
  ]
  const packed = packRecords(records)
  assert.equal(packed.bytes.byteLength, 7 + 0 + 0 + Buffer.byteLength('ünïcode ✓') + 5)
  // the worker gets only the packed form: a structured clone of it stands for the thread hop
  const back = unpackRecords(structuredClone(packed, { transfer: [packed.bytes.buffer as ArrayBuffer] }))
  assert.equal(packed.bytes.byteLength, 0, 'the buffer was moved, not copied')
  assert.deepEqual(
    back.map((r) => ({ ...r, value: r.value && r.value.toString('utf8') })),
    records.map((r) => ({ ...r, value: r.value && r.value.toString('utf8') })),
  )
  assert.ok(back.every((r) => r.value === null || Buffer.isBuffer(r.value)))
  assert.equal(back[1]!.value, null)
  assert.equal(back[2]!.value!.length, 0)
})
