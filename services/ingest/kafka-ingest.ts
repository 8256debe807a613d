import type { Logger } from 'pino'
import type { Config } from '../../schemas/config.js'
import type { KafkaConfig } from '../../schemas/kafka-config.js'
import { RequestEvent } from '../../schemas/request-event.js'
import { GatewardenError } from '../../core/errors.js'
import type { Failpoints } from '../../core/failpoints.js'
import { decodeKafkaValue, type OtlpMapper } from '../../core/ingest/kafka/message.js'
import type { MapperOptions } from '../../core/ingest/litellm/mapper.js'
import { mapOtlpToResults } from '../../core/ingest/otlp/mapper.js'
import { createKafkaClient } from '../../adapters/kafka/client.js'
import {
  KafkaConsumerGroup,
  type KafkaBatchHandler,
  type KafkaRecord,
} from '../../adapters/kafka/consumer.js'
import type { GaugePoint } from '../../adapters/telemetry/metrics.js'
import type { Lifecycle } from '../../core/lifecycle.js'
import { within } from '../lifecycle.js'
import type { Metrics } from '../../adapters/telemetry/metrics.js'
import type { BatchWriter } from './batch-writer.js'
import { loadPriceTable } from './price-table.js'
import type { TierLookup } from '../../core/ingest/tier.js'
import {
  fromPortable,
  prepareBatch,
  storeBatch,
  type IngestSink,
  type MappedItem,
  type PortableBatch,
  type PreparedBatch,
} from './submit.js'

/** What the Kafka source needs from the running service. */
export interface KafkaIngestDeps {
  kafka: KafkaConfig
  config: Pick<Config, 'gateway' | 'attribution' | 'privacy' | 'store' | 'pricing'>
  writer: Pick<BatchWriter, 'submit' | 'isSaturated'>
  metrics: IngestSink['metrics'] & Pick<Metrics, 'gauge'>
  log: Logger
  /** Where `kafka.sasl.password_env` is read (the process environment). */
  env: NodeJS.ProcessEnv
  now?: () => number
  /** OTLP JSON mapping; defaults to the OTLP source's mapper (same attribution, prices and counting rule). */
  mapOtlp?: OtlpMapper
  /** Armed fault points (`kafka.before_commit`, `kafka.after_commit`); none by default. */
  failpoints?: Failpoints
  /** Customer tiers set through the API. */
  tiers?: TierLookup
  /**
   * The ingest topic (`ingest.via_kafka`): consumed with `kafka.topics`, its messages are this
   * service's own canonical events (source kept: `litellm_http`, `otlp`), counted as `kafka`.
   */
  ingestTopic?: string
  /** Prepares record batches on parse workers (parse-pool.ts); inline when absent. */
  prepare?: RecordsPreparer
}

/** The Kafka settings record decoding reads. */
export type KafkaRecordsSource = Pick<KafkaConfig, 'formats' | 'max_message_bytes'>
/** The rest of the config record decoding reads (mappers, prices). */
export type KafkaRecordsConfig = Pick<Config, 'gateway' | 'attribution' | 'privacy' | 'pricing'>

/** OTLP JSON on a topic is mapped exactly as on POST /v1/traces (only the event source differs). */
function defaultOtlpMapper(config: KafkaRecordsConfig): OtlpMapper {
  const opts = {
    source: 'kafka' as const,
    gateway: config.gateway,
    attribution: config.attribution.otel,
    privacy: config.privacy,
    prices: loadPriceTable(config.pricing),
  }
  return (request) => mapOtlpToResults(request, opts)
}

/** What preparing a batch of Kafka records needs besides the records. */
export interface KafkaRecordsContext {
  receivedAt: number
  retentionDays: number
  /** The ingest topic (`ingest.via_kafka`), whose messages are canonical events. */
  ingestTopic?: string
}

/** How the records of each topic are decoded and mapped. */
export interface KafkaRecordsOptions {
  formats: KafkaConfig['formats']
  maxMessageBytes: number
  mapper: MapperOptions
  mapOtlp: OtlpMapper
}

/**
 * Everything a batch of records goes through before the writer, pure and thread-safe: each message decoded
 * (format of its topic), mapped, the event-time check and the dead letters (with topic/partition/offset).
 * Runs on a parse worker (parse-pool.ts) or inline.
 */
export function prepareKafkaRecords(
  records: readonly KafkaRecord[],
  ctx: KafkaRecordsContext,
  opts: KafkaRecordsOptions,
): PortableBatch {
  const items: MappedItem[] = []
  for (const r of records) {
    const origin = `kafka ${r.topic}/${r.partition}@${r.offset}`
    const at = { topic: r.topic, partition: r.partition, offset: Number(r.offset) }
    if (r.topic === ctx.ingestTopic) {
      items.push(ingestTopicItem(r.value, { ...at, origin, where: origin }))
      continue
    }
    const out = decodeKafkaValue(r.value, {
      format: opts.formats[r.topic] ?? 'auto',
      maxMessageBytes: opts.maxMessageBytes,
      mapper: opts.mapper,
      mapOtlp: opts.mapOtlp,
    })
    for (const rej of out.rejects) {
      const where = out.items > 1 ? `${origin} item ${rej.item}` : origin
      items.push({
        at: { ...at, origin: where, where },
        raw: rej.raw,
        ok: false,
        reason: rej.reason,
        code: rej.code,
        rawBytes: rej.rawBytes,
      })
    }
    out.events.forEach((event, i) =>
      items.push({
        at: { ...at, origin, where: origin },
        raw: event,
        ok: true,
        event,
        truncated: out.truncated[i] ?? 0,
      }),
    )
  }
  return prepareBatch(items, {
    source: 'kafka',
    receivedAt: ctx.receivedAt,
    retentionDays: ctx.retentionDays,
  })
}

/** Where batches of records are prepared: a pool of parse workers, or this thread. */
export type RecordsPreparer = (
  records: readonly KafkaRecord[],
  ctx: KafkaRecordsContext,
) => Promise<PortableBatch>

/** The decoding options of the Kafka source, from the config (what a parse worker is given too). */
export function kafkaRecordsOptions(
  kafka: KafkaRecordsSource,
  config: KafkaRecordsConfig,
  mapOtlp?: OtlpMapper,
): KafkaRecordsOptions {
  return {
    formats: kafka.formats,
    maxMessageBytes: kafka.max_message_bytes,
    mapper: {
      source: 'kafka',
      gateway: config.gateway,
      attribution: config.attribution,
      privacy: config.privacy,
    },
    mapOtlp: mapOtlp ?? defaultOtlpMapper(config),
  }
}

/**
 * The batch handler of the Kafka source: `decode` prepares the records (prepareKafkaRecords, on a parse
 * worker when `prepare` is given), `store` hands the batch to the writer and counts it.
 */
export function kafkaBatchHandler(deps: Omit<KafkaIngestDeps, 'log' | 'env'>): KafkaBatchHandler {
  const { kafka, config, writer, metrics } = deps
  const now = deps.now ?? Date.now
  const retentionDays = config.store.retention_days
  const opts = kafkaRecordsOptions(kafka, config, deps.mapOtlp)
  const sink: IngestSink = { source: 'kafka', writer, metrics, tiers: deps.tiers }
  // decode() and store() see the same arrays; the truncation count and origins ride along with the events
  const preparedFor = new WeakMap<readonly RequestEvent[], Pick<PreparedBatch, 'truncated' | 'originOf'>>()
  return {
    async decode(records: readonly KafkaRecord[]) {
      const ctx = {
        receivedAt: now(),
        retentionDays,
        ...(deps.ingestTopic ? { ingestTopic: deps.ingestTopic } : {}),
      }
      const batch = fromPortable(
        deps.prepare ? await deps.prepare(records, ctx) : prepareKafkaRecords(records, ctx, opts),
      )
      preparedFor.set(batch.events, batch)
      return { events: batch.events, deadLetters: batch.deadLetters }
    },
    isSaturated: (rows) => writer.isSaturated(rows),
    async store(events, deadLetters) {
      const prepared = preparedFor.get(events)
      await storeBatch(sink, {
        events,
        deadLetters,
        truncated: prepared?.truncated ?? 0,
        ...(prepared ? { originOf: prepared.originOf } : {}),
      })
    },
  }
}

/** One message of the ingest topic: an event this service accepted and produced (its source kept). */
function ingestTopicItem(value: Buffer | null, at: MappedItem['at']): MappedItem {
  let raw: unknown = value?.toString('utf8') ?? null
  try {
    raw = JSON.parse(raw as string)
  } catch {
    return { at, raw, ok: false, code: 'GW_DL_NOT_JSON', reason: 'ingest topic message is not JSON' }
  }
  const parsed = RequestEvent.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return {
      at,
      raw,
      ok: false,
      code: 'GW_DL_INVALID',
      reason: `invalid ingest topic event at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    }
  }
  // cut and counted when it was accepted over HTTP/OTLP
  return { at, raw, ok: true, event: parsed.data, truncated: 0 }
}

/**
 * The Kafka source as one part of the service (core/lifecycle.ts): a consumer group
 * (`adapters/kafka/consumer.ts` `KafkaConsumerGroup`) whose batches go through `kafkaBatchHandler`, with
 * the lag and paused-partition gauges. `start` throws GW_CONFIG_INVALID when the SASL password variable
 * is unset and rejects when the brokers stay unreachable (having released what it opened);
 * `shutdown` drains the in-flight batches into the writer and commits them, so stop it before the writer.
 */
export class KafkaIngest implements Lifecycle {
  #group: KafkaConsumerGroup | undefined
  #stopping: Promise<void> | undefined

  constructor(private readonly deps: KafkaIngestDeps) {}

  async start(): Promise<void> {
    const { kafka, log, metrics } = this.deps
    let password: string | undefined
    if (kafka.sasl) {
      password = this.deps.env[kafka.sasl.password_env]
      if (!password) {
        throw new GatewardenError(
          'GW_CONFIG_INVALID',
          `kafka.sasl.password_env: environment variable ${kafka.sasl.password_env} is not set (it holds the SASL password)`,
          false,
        )
      }
    }
    const lagClient = createKafkaClient(kafka, password, log, {
      retries: 1,
      initialRetryTime: 300,
      maxRetryTime: 1_000,
    })
    // the ingest topic is read from its start by a new group: events acked before the group first
    // joined (the HTTP listener is up before the consumer) must not be skipped as "before latest"
    const ingestTopic = this.deps.ingestTopic
    const topics = ingestTopic
      ? { ...kafka, topics: [...kafka.topics, ingestTopic], from_beginning_topics: [ingestTopic] }
      : kafka
    const group = new KafkaConsumerGroup(
      createKafkaClient(kafka, password, log),
      topics,
      kafkaBatchHandler(this.deps),
      log,
      lagClient,
      undefined,
      this.deps.failpoints,
    )
    this.#group = group
    metrics.gauge(
      'gatewarden_kafka_consumer_lag',
      'Messages not yet stored per assigned topic/partition (high watermark - next offset)',
      () => group.lag(),
    )
    metrics.gauge(
      'gatewarden_kafka_paused_partitions',
      'Partitions paused by backpressure (writer saturated or store down)',
      () => group.pausedPartitions(),
    )
    await group.start()
  }

  /** Lag per assigned partition. */
  lag(): GaugePoint[] {
    return this.#group?.lag() ?? []
  }

  /** Partitions paused by backpressure now. */
  pausedPartitions(): number {
    return this.#group?.pausedPartitions() ?? 0
  }

  /** Batches are stored as they come (the consumer commits after each): nothing is held back. */
  flush(): Promise<void> {
    return Promise.resolve()
  }

  /** Stops fetching, lets the in-flight batches be stored and committed, leaves the group; bounded. */
  shutdown(timeoutMs: number): Promise<void> {
    return (this.#stopping ??= within(this.#group?.stop() ?? Promise.resolve(), timeoutMs).then(
      () => undefined,
    ))
  }
}
