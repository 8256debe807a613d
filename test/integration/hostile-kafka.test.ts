import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Message } from 'kafkajs'
import { start } from '../../services/start.js'
import { createTopic, groupOffsets, produce, useTestBroker, waitFor } from '../support/kafka-broker.js'
import { litellmPayload } from '../support/events.js'
import { deepArray, deepObject, gzipBomb, invalidUtf8, storedIds } from '../support/hostile.js'
import { kafkaTestConfig, testLog } from '../support/kafka-gatewarden.js'
import { rows } from '../support/store.js'

/**
 * The hostile-input corpus of the Kafka source, on the real broker: each message is stored, or becomes a
 * dead letter with its GW_DL_* code and offset; the partition commits past all of them; the service stays up.
 */
const run = `${process.pid}-${Date.now()}`
const kx = useTestBroker('hostile')
const MAX_BYTES = 512 * 1024
const TS = Date.now() - 3_600_000
let n = 0
const valid = (o: Record<string, unknown> = {}) => {
  const id = `hk-${run}-${++n}`
  return { id, p: { ...litellmPayload({ id, customer: 'acme', cost: 0.01, ts: TS }), ...o } }
}
const j = (v: unknown) => JSON.stringify(v)

/** [name, message, the dead-letter code expected for it (null: stored), ids that MUST be stored] */
type Row = [string, Message, string | null, string[]]
const plan: Row[] = []
const ok = (name: string, o: Record<string, unknown> = {}) => {
  const v = valid(o)
  plan.push([name, { value: j(v.p) }, null, [v.id]])
}
ok('a valid call first')
plan.push(['truncated JSON', { value: j(valid().p).slice(0, 60) }, 'GW_DL_NOT_JSON', []])
plan.push(['invalid JSON', { value: '{id: nope' }, 'GW_DL_NOT_JSON', []])
plan.push(['NaN literal', { value: '{"response_cost": NaN}' }, 'GW_DL_NOT_JSON', []])
plan.push(['100k nested arrays (one item, an array)', { value: deepArray(100_000) }, 'GW_DL_NOT_OBJECT', []])
plan.push(['50k nested objects', { value: deepObject(50_000) }, 'GW_DL_NO_ID', []])
plan.push([
  'OTLP request nested 100k deep',
  { value: `{"resourceSpans":${deepArray(100_000)}}` },
  'GW_DL_INVALID',
  [],
])
plan.push([
  'wrong type: cost a word',
  { value: j(valid({ response_cost: 'abc' }).p) },
  'GW_DL_BAD_NUMBER',
  [],
])
plan.push(['negative cost', { value: j(valid({ response_cost: -1 }).p) }, 'GW_DL_BAD_NUMBER', []])
plan.push(['wrong type: status a number', { value: j(valid({ status: 7 }).p) }, 'GW_DL_INVALID', []])
ok('huge customer string (cut, kept)', { end_user: 'c'.repeat(200_000) })
ok('huge tag array (cut, kept)', { request_tags: Array.from({ length: 20_000 }, (_, i) => `t${i}`) })
plan.push(['over kafka.max_message_bytes', { value: 'x'.repeat(MAX_BYTES + 1) }, 'GW_DL_TOO_LARGE', []])
ok('start time in ms', { startTime: TS, endTime: TS + 5 })
ok('start time in us', { startTime: TS * 1000, endTime: TS * 1000 + 5 })
plan.push([
  'start time in the future',
  { value: j(valid({ startTime: Date.UTC(2099, 0, 1) / 1000, endTime: null }).p) },
  'GW_DL_FUTURE',
  [],
])
{
  const v = valid({ end_user: 'MARK-utf8' })
  plan.push([
    'invalid UTF-8 bytes (read as U+FFFD, kept)',
    { value: invalidUtf8(j(v.p), 'MARK-utf8') },
    null,
    [v.id],
  ])
}
{
  // stored as UTF-8, which cannot carry a lone surrogate: written as U+FFFD, the call and its cost kept
  const v = valid({ end_user: 'x\uD800' })
  plan.push(['lone surrogate escape: stored as U+FFFD, kept', { value: j(v.p) }, null, [v.id]])
}
{
  const v = valid()
  plan.push(['duplicate id (first)', { value: j(v.p) }, null, [v.id]])
  plan.push(['duplicate id (again): stored once', { value: j(v.p) }, null, [v.id]])
}
plan.push(['tombstone', { value: null }, 'GW_DL_EMPTY', []])
plan.push(['empty value', { value: '' }, 'GW_DL_EMPTY', []])
plan.push([
  'protobuf garbage',
  { value: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x00, 0x80]) },
  'GW_DL_NOT_JSON',
  [],
])
plan.push(['gzip bytes (not decoded on a topic)', { value: gzipBomb(1) }, 'GW_DL_NOT_JSON', []])
plan.push([
  'canonical event with ts in microseconds',
  { value: j({ event_id: `hk-${run}-canon`, source: 'kafka', ts: TS * 1000 }) },
  'GW_DL_INVALID',
  [],
])
ok('a valid call last')

test('hostile Kafka messages: each is stored or dead-lettered with its code and offset; the partition commits past all', async () => {
  const topic = `hostile-${run}`
  const groupId = `gw-hostile-${run}`
  await createTopic(kx.kafka, topic, 1)
  let base = -1
  // one send per message: a record batch must stay under the broker's message.max.bytes
  for (const [, m] of plan) {
    const [meta] = await produce(kx.producer, topic, [m], 0)
    if (base < 0) base = Number(meta!.baseOffset)
  }
  const cfg = kafkaTestConfig({
    database: `kafka_hostile_${process.pid}`,
    brokers: kx.broker.brokers,
    topics: [topic],
    groupId,
    kafka: { max_message_bytes: MAX_BYTES },
  })
  const running = await start(cfg, testLog())
  try {
    await waitFor('offset committed past the last message', async () => {
      const { committed, high } = await groupOffsets(kx.kafka, groupId, topic)
      return committed[0] === high[0] && high[0] === base + plan.length
    })
    const dead = await rows<{ off: string; code: string }>(
      running.store,
      'SELECT toString(offset) AS off, code FROM {{db}}.dead_letters ORDER BY offset',
    )
    const got = new Map(dead.map((d) => [Number(d.off) - base, d.code]))
    assert.equal(dead.length, got.size, 'one dead letter per refused message')
    plan.forEach(([name, , code], i) =>
      assert.equal(got.get(i) ?? null, code, `${name} (offset ${base + i})`),
    )
    const kept = [...new Set(plan.flatMap(([, , , ids]) => ids))].sort()
    assert.deepEqual(await storedIds(running.store, kept), kept)
    const [count] = await rows<{ n: string }>(
      running.store,
      'SELECT toString(count()) n FROM {{db}}.requests',
    )
    assert.equal(Number(count?.n), kept.length, 'nothing else stored, nothing twice')
    const { host, port } = running.address
    assert.equal((await fetch(`http://${host}:${port}/healthz`)).status, 200)
  } finally {
    await running.stop()
  }
})
