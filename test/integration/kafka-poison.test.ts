import { test } from 'node:test'
import assert from 'node:assert/strict'
import { start } from '../../services/start.js'
import { createTopic, groupOffsets, produce, useTestBroker, waitFor } from '../support/kafka-broker.js'
import { storeCounts } from '../support/kafka-spend.js'
import { litellmPayload } from '../support/events.js'
import { kafkaTestConfig, testLog } from '../support/kafka-gatewarden.js'
import { rows } from '../support/store.js'

const run = `${process.pid}-${Date.now()}`
const kx = useTestBroker('poison')

const good = (n: number) =>
  litellmPayload({ id: `px-${run}-${n}`, customer: 'acme', cost: 0.25, ts: Date.now() - 3_600_000 })
/**
 * Valid for every mapper and schema, refused by the real store when rows go to it as JSONEachRow (as to a
 * ClickHouse server; `store.insert_format: json` here): a customer with a lone UTF-16 surrogate, written
 * as the JSON escape `\ud800` (JSON.stringify writes it so). RowBinary writes it as U+FFFD and keeps it.
 */
const poison = (n: number) => ({ ...good(n), end_user: 'evil\uD800' })
const json = (v: unknown) => JSON.stringify(v)

test('a message the store refuses is dead-lettered with its offset and the store reason; its neighbours are stored, the partition commits past it and never re-fetches it', async () => {
  const topic = `poison-${run}`
  const groupId = `gw-poison-${run}`
  await createTopic(kx.kafka, topic, 1)
  const messages = [
    { value: json(good(0)) },
    { value: json(poison(1)) },
    { value: json(good(2)) },
    { value: json([good(3), poison(4), good(5)]) },
    { value: json(good(6)) },
  ]
  assert.match(messages[1]!.value, /"end_user":"evil\\ud800"/)
  const [meta] = await produce(kx.producer, topic, messages, 0)
  const base = Number(meta!.baseOffset)

  const cfg = kafkaTestConfig({
    database: `kafka_poison_${process.pid}`,
    brokers: kx.broker.brokers,
    topics: [topic],
    groupId,
    store: { insert_format: 'json' },
  })
  const running = await start(cfg, testLog())
  try {
    await waitFor('offset committed past the last message', async () => {
      const { committed, high } = await groupOffsets(kx.kafka, groupId, topic)
      return committed[0] === high[0] && high[0] === base + messages.length
    })
    assert.deepEqual(await storeCounts(running.store), { rows: 5, ids: 5 }, 'every neighbour stored once')
    const dead = await rows<{ origin: string; code: string; reason: string; topic: string; off: string }>(
      running.store,
      'SELECT origin, code, reason, topic, toString(offset) AS off FROM {{db}}.dead_letters ORDER BY offset',
    )
    assert.deepEqual(
      dead.map((d) => [d.code, d.topic, Number(d.off), d.origin]),
      [
        ['GW_DL_STORE_REJECTED', topic, base + 1, `kafka ${topic}/0@${base + 1}`],
        ['GW_DL_STORE_REJECTED', topic, base + 3, `kafka ${topic}/0@${base + 3}`],
      ],
    )
    for (const d of dead) assert.match(d.reason, /^CANNOT_PARSE_ESCAPE_SEQUENCE: /)

    const { host, port } = running.address
    const metrics = await (await fetch(`http://${host}:${port}/metrics`)).text()
    assert.match(
      metrics,
      /gatewarden_dead_letters_total\{code="GW_DL_STORE_REJECTED",source="kafka"[^}]*\} 2\n/,
    )
    const api = (await (await fetch(`http://${host}:${port}/api/dead-letters?source=kafka`)).json()) as {
      dead_letters: Array<{ code: string }>
    }
    assert.deepEqual(
      api.dead_letters.map((d) => d.code),
      ['GW_DL_STORE_REJECTED', 'GW_DL_STORE_REJECTED'],
    )
  } finally {
    await running.stop()
  }
  // a restart of the group starts past the poison: a message produced now is stored, nothing before it again
  const again = await start(cfg, testLog())
  try {
    const [late] = await produce(kx.producer, topic, [{ value: json(good(7)) }], 0)
    const end = Number(late!.baseOffset) + 1
    await waitFor('the new message stored and committed', async () => {
      const { committed } = await groupOffsets(kx.kafka, groupId, topic)
      return committed[0] === end && (await storeCounts(again.store)).rows === 6
    })
    const [n] = await rows<{ n: string }>(again.store, 'SELECT toString(count()) n FROM {{db}}.dead_letters')
    assert.equal(n?.n, '2', 'the poison was not fetched again')
    assert.deepEqual(await storeCounts(again.store), { rows: 6, ids: 6 })
  } finally {
    await again.stop()
  }
})
