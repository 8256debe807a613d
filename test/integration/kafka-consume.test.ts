import { test } from 'node:test'
import assert from 'node:assert/strict'
import { start } from '../../services/start.js'
import { createTopic, groupOffsets, produceAll, useTestBroker, waitFor } from '../support/kafka-broker.js'
import { assertExactSpend, spendMessages, ExpectedKafkaSpend, storeCounts } from '../support/kafka-spend.js'
import { kafkaTestConfig, lagByPartition, testLog } from '../support/kafka-gatewarden.js'

const run = `${process.pid}-${Date.now()}`

const kx = useTestBroker('consume')

test('consumes LiteLLM payloads, canonical events and OTLP JSON in every framing: per-customer cost equals what was produced, exactly', async () => {
  const topic = `spend-${run}`
  const groupId = `gw-consume-${run}`
  await createTopic(kx.kafka, topic, 3)
  const ledger = new ExpectedKafkaSpend(`consume-${run}`)
  const messages = spendMessages(ledger, 0, 1500)
  // canonical RequestEvent JSON, NDJSON batches of 10
  for (let i = 0; i < 60; i += 10) {
    messages.push({
      key: `canon-${i}`,
      value: Array.from({ length: 10 }, (_, j) => JSON.stringify(ledger.canonical(i + j))).join('\n'),
    })
  }
  // OTLP JSON export requests: 4 LLM spans and one HTTP span (ignored) each
  for (let i = 0; i < 40; i += 4)
    messages.push({ key: `otlp-${i}`, value: JSON.stringify(ledger.otlp(10_000 + i, 4)) })
  await produceAll(kx.producer, topic, messages)

  const cfg = kafkaTestConfig({
    database: `kafka_consume_${process.pid}`,
    brokers: kx.broker.brokers,
    topics: [topic],
    groupId,
  })
  const running = await start(cfg, testLog())
  try {
    await waitFor(`${ledger.total} rows`, async () => (await storeCounts(running.store)).rows >= ledger.total)
    await assertExactSpend(running.store, ledger)

    // the cost API (hourly rollup for whole hours) gives the same per-customer sums
    const res = await running.app.inject({
      url: '/api/cost?group_by=customer&from=2025-02-11T00:00:00Z&to=2025-02-13T00:00:00Z',
    })
    assert.equal(res.statusCode, 200)
    const api = res.json<{
      rows: { customer: string; cost_usd: number; requests: number }[]
      source: string
    }>()
    assert.equal(api.source, 'spend_by_hour')
    assert.deepEqual(
      new Map(api.rows.map((r) => [r.customer, [Math.round(r.cost_usd * 1e10), r.requests]])),
      new Map([...ledger.expected].map(([c, v]) => [c, [Number(v.units), v.count]])),
    )

    // a replay of the topic's head and the same payloads over HTTP count once
    await produceAll(kx.producer, topic, messages.slice(0, 100))
    const http = await running.app.inject({
      method: 'POST',
      url: '/ingest/litellm',
      headers: { 'content-type': 'application/json' },
      // the first messages are single payloads (see spendMessages)
      payload: `[${messages
        .slice(0, 3)
        .map((m) => String(m.value))
        .join(',')}]`,
    })
    assert.equal(http.statusCode, 200, http.body)
    assert.ok(http.json<{ duplicates: number }>().duplicates > 0)
    await waitFor('all offsets committed', async () => {
      const { committed, high } = await groupOffsets(kx.kafka, groupId, topic)
      return high.length === 3 && high.every((h, p) => committed[p] === h)
    })
    await assertExactSpend(running.store, ledger)

    // lag per partition on /metrics: 0 once caught up
    await waitFor('lag 0 on 3 partitions', async () => {
      const lag = lagByPartition((await running.app.inject({ url: '/metrics' })).body, topic)
      return lag.size === 3 && [...lag.values()].every((v) => v === 0)
    })
    const metrics = (await running.app.inject({ url: '/metrics' })).body
    assert.match(metrics, /gatewarden_events_duplicate_total\{[^}]*source="kafka"[^}]*\} [1-9]/)
  } finally {
    await running.stop()
  }
})
