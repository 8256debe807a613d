import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Config } from '../../schemas/config.js'
import type { DeadLetter } from '../../schemas/dead-letter.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { kafkaBatchHandler } from './kafka-ingest.js'
import { litellmPayload } from '../../test/support/events.js'

const NOW = Date.UTC(2025, 1, 20)
const config = (retentionDays = 0) =>
  Config.parse({
    store: { retention_days: retentionDays },
    kafka: {
      brokers: ['a:1'],
      topics: ['auto', 'canon'],
      formats: { canon: 'canonical' },
      max_message_bytes: 8192,
    },
  })
const noopMetrics = {
  eventsAccepted() {},
  eventsRejected() {},
  eventsDuplicate() {},
  valuesTruncated() {},
  ingestRefused() {},
  gauge() {},
}
const pipeline = (
  cfg: Config,
  submit = async (_e: readonly RequestEvent[], _d: readonly DeadLetter[]) => ({
    stored: 0,
    duplicates: 0,
    deadLettered: 0,
  }),
) =>
  kafkaBatchHandler({
    kafka: cfg.kafka!,
    config: cfg,
    writer: { submit, isSaturated: () => false },
    metrics: noopMetrics,
    now: () => NOW,
  })
const rec = (topic: string, offset: string, value: unknown) => ({
  topic,
  partition: 2,
  offset,
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
})

test('dead letters carry topic, partition, offset and an origin naming the item', async () => {
  const p = litellmPayload({ id: 'x1', customer: 'c', ts: Date.UTC(2025, 1, 19) })
  const out = await pipeline(config()).decode([
    rec('auto', '10', p),
    rec('auto', '11', 'nope'),
    rec('auto', '12', [p, { ...p, id: 'x2', response_cost: -1 }]),
    rec('auto', '13', 'y'.repeat(9000)),
    rec('canon', '14', p),
  ])
  assert.deepEqual(
    out.events.map((e) => [e.event_id, e.source]),
    [
      ['x1', 'kafka'],
      ['x1', 'kafka'],
    ],
  )
  assert.deepEqual(
    out.deadLetters.map((d) => [d.origin, d.topic, d.partition, d.offset, d.source]),
    [
      ['kafka auto/2@11', 'auto', 2, 11, 'kafka'],
      ['kafka auto/2@12 item 1', 'auto', 2, 12, 'kafka'],
      ['kafka auto/2@13', 'auto', 2, 13, 'kafka'],
      ['kafka canon/2@14', 'canon', 2, 14, 'kafka'],
    ],
  )
  assert.equal(out.deadLetters[2]!.raw_bytes, 9000, 'an oversized value keeps its real size')
  assert.match(out.deadLetters[3]!.reason, /canonical event/, 'the topic format is applied')
  assert.ok(out.deadLetters.every((d) => d.received_at === NOW))
})

test('events older than store.retention_days are dead-lettered, as on the HTTP path', async () => {
  const old = litellmPayload({ id: 'old', ts: NOW - 10 * 86_400_000 })
  const fresh = litellmPayload({ id: 'fresh', ts: NOW - 86_400_000 })
  const out = await pipeline(config(7)).decode([rec('auto', '1', [old, fresh])])
  assert.deepEqual(
    out.events.map((e) => e.event_id),
    ['fresh'],
  )
  assert.match(out.deadLetters[0]!.reason, /older than store.retention_days \(7\)/)
})

test('store() rejects when the writer does (the consumer then pauses and commits nothing)', async () => {
  const err = Object.assign(new Error('full'), { code: 'GW_BACKPRESSURE' })
  const p = pipeline(config(), () => Promise.reject(err))
  await assert.rejects(p.store([], []), /full/)
})

test('a long customer on a topic is cut, stored, and its truncation counted when the batch is stored', async () => {
  const truncated: Array<[string, number]> = []
  const submitted: RequestEvent[] = []
  const p = kafkaBatchHandler({
    kafka: config().kafka!,
    config: config(),
    writer: {
      submit: async (e) => {
        submitted.push(...e)
        return { stored: e.length, duplicates: 0, deadLettered: 0 }
      },
      isSaturated: () => false,
    },
    metrics: { ...noopMetrics, valuesTruncated: (source, n) => void truncated.push([source, n]) },
    now: () => NOW,
  })
  const long = litellmPayload({ id: 'long', customer: 'k'.repeat(1500), ts: NOW - 1_000 })
  const out = await p.decode([
    rec('auto', '1', long),
    rec('canon', '2', { event_id: 'c', ts: NOW, source: 'x', team: 't'.repeat(2000) }),
  ])
  assert.deepEqual(out.deadLetters, [])
  assert.deepEqual(truncated, [], 'nothing counted before the rows are stored')
  await p.store(out.events, out.deadLetters)
  assert.deepEqual(
    submitted.map((e) => [e.event_id, e.customer.length, e.team.length === 1024]),
    [
      ['long', 1024, false],
      ['c', 0, true],
    ],
  )
  assert.deepEqual(truncated, [['kafka', 2]])
})
