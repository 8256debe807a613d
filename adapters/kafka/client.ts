import { Kafka, logLevel, type LogEntry, type RetryOptions, type SASLOptions } from 'kafkajs'
import type { Logger } from 'pino'
import type { KafkaConfig } from '../../schemas/kafka-config.js'

/**
 * The one retry policy of every Kafka client (consumer, admin, producer): kafkajs retries each request and
 * reconnects with it; about 30 s in all before an operation fails (a running consumer then restarts).
 */
export const KAFKA_RETRY: RetryOptions = { initialRetryTime: 300, maxRetryTime: 5_000, retries: 10 }

const KAFKA_LEVEL: Record<string, logLevel> = {
  fatal: logLevel.ERROR,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
  trace: logLevel.DEBUG,
  silent: logLevel.NOTHING,
}

/** Routes kafkajs logs to pino: fields first, the kafkajs message as the message. */
function pinoLogCreator(log: Logger) {
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const rec: Record<string, unknown> = { kafkajs: namespace, ...entry }
      delete rec.message
      delete rec.timestamp
      const message = entry.message
      // protocol error responses (rebalancing, coordinator moving) are retried by kafkajs itself
      if (level === logLevel.ERROR && namespace !== 'Connection') log.error(rec, message)
      else if (level === logLevel.ERROR) log.warn(rec, message)
      else if (level === logLevel.WARN) log.warn(rec, message)
      else if (level === logLevel.INFO) log.info(rec, message)
      else log.debug(rec, message)
    }
}

/**
 * A kafkajs client for `cfg`; `password` is the SASL password the service read from `sasl.password_env`.
 * `retry` replaces KAFKA_RETRY (the lag reader gives up fast rather than hold a stop for a minute).
 */
export function createKafkaClient(
  cfg: KafkaConfig,
  password: string | undefined,
  log: Logger,
  retry: RetryOptions = KAFKA_RETRY,
): Kafka {
  return new Kafka({
    clientId: cfg.client_id,
    brokers: cfg.brokers,
    ssl: cfg.ssl,
    // the three mechanisms take the same fields; kafkajs types them as a union of literals
    ...(cfg.sasl
      ? {
          sasl: {
            mechanism: cfg.sasl.mechanism,
            username: cfg.sasl.username,
            password: password ?? '',
          } as SASLOptions,
        }
      : {}),
    connectionTimeout: 3_000,
    retry,
    logLevel: KAFKA_LEVEL[log.level] ?? logLevel.INFO,
    logCreator: pinoLogCreator(log),
  })
}
