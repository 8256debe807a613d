import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../services/config.js'
import { KafkaConfig } from './kafka-config.js'

const dir = mkdtempSync(join(tmpdir(), 'gw-kafka-config-'))
const file = (name: string, text: string) => {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

test('no kafka key: no Kafka source', () => {
  assert.equal(loadConfig({}).kafka, undefined)
})

test('defaults of a minimal Kafka config', () => {
  const k = KafkaConfig.parse({ brokers: ['127.0.0.1:9092'], topics: ['litellm'] })
  assert.equal(k.group_id, 'gatewarden')
  assert.equal(k.client_id, 'gatewarden')
  assert.equal(k.from_beginning, false)
  assert.equal(k.ssl, false)
  assert.equal(k.max_message_bytes, 4 * 1024 * 1024)
  assert.equal(k.max_bytes_per_partition, 8 * 1024 * 1024)
  assert.deepEqual(k.formats, {})
  assert.equal(k.sasl, undefined)
})

test('env overrides: KAFKA_BROKERS and KAFKA_TOPICS as comma lists, KAFKA_GROUP_ID', () => {
  const c = loadConfig({
    KAFKA_BROKERS: 'a:9092, b:9093',
    KAFKA_TOPICS: 'litellm,otlp',
    KAFKA_GROUP_ID: 'gw-prod',
  })
  assert.deepEqual(c.kafka?.brokers, ['a:9092', 'b:9093'])
  assert.deepEqual(c.kafka?.topics, ['litellm', 'otlp'])
  assert.equal(c.kafka?.group_id, 'gw-prod')
  const p = file(
    'k.yaml',
    'kafka:\n  brokers: ["x:1"]\n  topics: [t1]\n  formats: { t1: ndjson }\n  sasl: { mechanism: scram-sha-512, username: gw, password_env: KAFKA_PASSWORD }\n',
  )
  const f = loadConfig({ KAFKA_BROKERS: 'y:2' }, p)
  assert.deepEqual(f.kafka?.brokers, ['y:2'])
  assert.equal(f.kafka?.formats.t1, 'ndjson')
  assert.equal(f.kafka?.sasl?.password_env, 'KAFKA_PASSWORD')
})

test('invalid Kafka configs name the key', () => {
  assert.throws(() => loadConfig({ KAFKA_BROKERS: 'a:9092' }), /kafka\.topics/)
  assert.throws(
    () => loadConfig({ KAFKA_BROKERS: 'no-port', KAFKA_TOPICS: 't' }),
    /kafka\.brokers\.0: must be host:port/,
  )
  const bad = (yaml: string, re: RegExp) =>
    assert.throws(() => loadConfig({}, file(`b${Math.random()}.yaml`, yaml)), re)
  bad(
    'kafka:\n  brokers: ["a:1"]\n  topics: [t1]\n  formats: { t2: litellm }\n',
    /kafka\.formats\.t2: topic t2 is not in kafka.topics/,
  )
  bad('kafka:\n  brokers: ["a:1"]\n  topics: [t1]\n  formats: { t1: xml }\n', /kafka\.formats\.t1/)
  bad('kafka:\n  brokers: ["a:1"]\n  topics: [t1]\n  dead_letter_topic: t1\n', /kafka\.dead_letter_topic/)
  bad(
    'kafka:\n  brokers: ["a:1"]\n  topics: [t1]\n  sasl: { mechanism: gssapi, username: u, password_env: P }\n',
    /kafka\.sasl\.mechanism/,
  )
  bad(
    'kafka:\n  brokers: ["a:1"]\n  topics: [t1]\n  sasl: { mechanism: plain, username: u, password: hunter2 }\n',
    /kafka\.sasl/,
  )
  bad('kafka:\n  brokers: ["a:1"]\n  topics: ["bad topic"]\n', /kafka\.topics\.0/)
})
