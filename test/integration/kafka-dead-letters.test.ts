import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Message } from 'kafkajs'
import { start } from '../../services/start.js'
import { createTopic, groupOffsets, produce, useTestBroker, waitFor } from '../support/kafka-broker.js'
import { storeCounts } from '../support/kafka-spend.js'
import { litellmPayload } from '../support/events.js'
import { kafkaTestConfig, testLog } from '../support/kafka-gatewarden.js'
import { rows } from '../support/store.js'

const run = `${process.pid}-${Date.now()}`

const kx = useTestBroker('dead-letters')

const good = (n: number) =>
  litellmPayload({ id: `dl-${run}-${n}`, customer: 'acme', cost: 0.001, ts: Date.UTC(2025, 1, 11, 10) })
const json = (v: unknown) => JSON.stringify(v)
/** An OTLP request whose only span is not an LLM call: ignored by a wired OTLP mapper. */
const otlpNoLlm = {
  resourceSpans: [
    {
      resource: { attributes: [] },
      scopeSpans: [
        {
          spans: [
            {
              traceId: '0af7651916cd43dd8448eb211c80319c',
              spanId: 'b7ad6b7169203331',
              name: 'GET /health',
              startTimeUnixNano: '1739268000000000000',
              endTimeUnixNano: '1739268000100000000',
              attributes: [],
            },
          ],
        },
      ],
    },
  ],
}

/** An OTLP request with one LLM span whose token count is unusable: dead-lettered. */
const otlpBadLlm = structuredClone(otlpNoLlm)
otlpBadLlm.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes = [
  { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } },
  { key: 'gen_ai.usage.input_tokens', value: { stringValue: 'lots' } },
] as never[]

test('bad messages go to dead_letters with topic, partition and offset (and the dead-letter topic); the partition keeps flowing', async () => {
  const topic = `bad-${run}`
  const dlq = `bad-dlq-${run}`
  const groupId = `gw-bad-${run}`
  await createTopic(kx.kafka, topic, 1)
  await createTopic(kx.kafka, dlq, 1)

  // [message, expected dead letter (item or whole message) or null]
  const plan: Array<[Message, RegExp | null, string?]> = [
    [{ value: json(good(0)) }, null],
    [{ value: 'this is not json' }, /^not JSON/],
    [{ value: json(good(1)) }, null],
    [{ value: 'x'.repeat(20_000) }, /20000 bytes, over kafka.max_message_bytes \(16384\)/],
    [{ value: json({ ...good(9), response_cost: -2 }) }, /response_cost is negative/],
    [{ value: [json(good(2)), '{broken', json(good(3))].join('\n') }, /line 2 is not JSON/, ' item 1'],
    [{ value: json([good(4), { ...good(8), startTime: 'yesterday' }]) }, /startTime/, ' item 1'],
    [{ value: null }, /tombstone/],
    [
      {
        value: json({
          event_id: `dl-${run}-canon`,
          source: 'kafka',
          ts: '2025-02-11T10:00:00Z',
          cost_usd: 'free',
        }),
      },
      /canonical event at cost_usd/,
    ],
    [{ value: json(otlpNoLlm) }, null],
    [{ value: json(otlpBadLlm) }, /span 0: gen_ai.usage.input_tokens is not a token count/],
    [{ value: json({ resourceSpans: 'none' }) }, /resourceSpans is not an array/],
    [{ value: json(good(5)) }, null],
  ]
  const [meta] = await produce(
    kx.producer,
    topic,
    plan.map(([m]) => m),
    0,
  )
  const base = Number(meta!.baseOffset)
  const expectedDead = plan.flatMap(([, reason, item], i) =>
    reason ? [{ offset: base + i, reason, item: item ?? '' }] : [],
  )

  const cfg = kafkaTestConfig({
    database: `kafka_dead_${process.pid}`,
    brokers: kx.broker.brokers,
    topics: [topic],
    groupId,
    kafka: { max_message_bytes: 16_384, dead_letter_topic: dlq },
  })
  const running = await start(cfg, testLog())
  try {
    await waitFor('6 good events stored', async () => (await storeCounts(running.store)).rows >= 6)
    await waitFor('dead letters stored', async () => {
      const [r] = await rows<{ n: string }>(
        running.store,
        'SELECT toString(count()) AS n FROM {{db}}.dead_letters',
      )
      return Number(r?.n) >= expectedDead.length
    })
    assert.equal(
      (await storeCounts(running.store)).rows,
      6,
      'good messages before and after the bad ones are stored',
    )

    const dead = await rows<{
      source: string
      origin: string
      reason: string
      topic: string
      partition: number
      off: string
      raw_bytes: number
    }>(
      running.store,
      'SELECT source, origin, reason, topic, partition, toString(offset) AS off, raw_bytes FROM {{db}}.dead_letters ORDER BY offset, origin',
    )
    assert.equal(dead.length, expectedDead.length, JSON.stringify(dead.map((d) => d.reason)))
    dead.forEach((d, i) => {
      const want = expectedDead[i]!
      assert.equal(d.source, 'kafka')
      assert.equal(d.topic, topic)
      assert.equal(d.partition, 0)
      assert.equal(Number(d.off), want.offset)
      assert.equal(d.origin, `kafka ${topic}/0@${want.offset}${want.item}`)
      assert.match(d.reason, want.reason)
    })
    assert.equal(dead.find((d) => /max_message_bytes/.test(d.reason))?.raw_bytes, 20_000)

    // the partition moved past every message: committed = end of the partition
    await waitFor('offset committed past the last message', async () => {
      const { committed, high } = await groupOffsets(kx.kafka, groupId, topic)
      return committed[0] === high[0] && high[0] === base + plan.length
    })
    // each dead letter was also copied to the dead-letter topic
    await waitFor(
      'dead-letter topic has a message per dead letter',
      async () => (await groupOffsets(kx.kafka, 'nobody', dlq)).high[0] === expectedDead.length,
    )
  } finally {
    await running.stop()
  }
})
