import pino, { type Logger } from 'pino'
import { Config } from '../../schemas/config.js'
import type { KafkaConfig } from '../../schemas/kafka-config.js'
import { silentLog, testDataDir } from './store.js'

/** Silent unless GW_TEST_LOG names a level (then JSON logs on stderr), to debug a Kafka test. */
export function testLog(): Logger {
  const level = process.env.GW_TEST_LOG
  return level
    ? pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }))
    : silentLog
}

/**
 * A config for an in-process Gatewarden consuming `topics`: this file's data dir, its own database,
 * an ephemeral port, short fetch waits and timeouts so tests stay quick.
 */
export function kafkaTestConfig(o: {
  database: string
  brokers: string[]
  topics: string[]
  groupId: string
  kafka?: Partial<KafkaConfig>
  writer?: Record<string, unknown>
  store?: Record<string, unknown>
}): Config {
  return Config.parse({
    server: { port: 0 },
    store: {
      data_dir: testDataDir(),
      database: o.database,
      clickhouse_url: process.env.CLICKHOUSE_URL || undefined,
      ...o.store,
    },
    writer: { max_batch_wait_ms: 50, ...o.writer },
    log: { level: process.env.GW_TEST_LOG ?? 'silent' },
    kafka: {
      brokers: o.brokers,
      topics: o.topics,
      group_id: o.groupId,
      from_beginning: true,
      max_wait_ms: 100,
      lag_refresh_ms: 300,
      session_timeout_ms: 6_000,
      heartbeat_interval_ms: 500,
      ...o.kafka,
    },
  })
}

/** Values of a Prometheus gauge by its `partition` label, from /metrics text. */
export function lagByPartition(metricsText: string, topic: string): Map<number, number> {
  const out = new Map<number, number>()
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('gatewarden_kafka_consumer_lag{') || !line.includes(`topic="${topic}"`)) continue
    const partition = /partition="(\d+)"/.exec(line)?.[1]
    const value = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (partition !== undefined) out.set(Number(partition), value)
  }
  return out
}
