import { z } from 'zod'

/**
 * How a topic's message values are read. `auto` sniffs the framing (one JSON object, a JSON array or
 * NDJSON lines) and each item's kind (LiteLLM payload, canonical event, OTLP request); `ndjson` forces
 * line framing with items sniffed; `litellm`, `canonical` and `otlp_json` force the item kind.
 */
export const KafkaFormat = z.enum(['auto', 'litellm', 'canonical', 'otlp_json', 'ndjson'])
export type KafkaFormat = z.infer<typeof KafkaFormat>

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')

/** SASL credentials; the password is read from the environment variable `password_env`, never from the file. */
export const KafkaSasl = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
  username: z.string().min(1),
  password_env: EnvName,
})
export type KafkaSasl = z.infer<typeof KafkaSasl>

const Broker = z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'must be host:port')
const Topic = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name ([A-Za-z0-9._-], at most 249)')

/**
 * HTTP and OTLP ingest through Kafka (`ingest.via_kafka`): each accepted event is produced to `topic`
 * keyed by `event_id` (acks=all) and acknowledged once the brokers have it; this instance's consumer
 * group stores it (canonical format). A store outage then delays storing, never refuses ingest.
 */
export const IngestConfig = z.strictObject({
  via_kafka: z.boolean().default(false),
  topic: Topic.default('gatewarden.ingest'),
  /**
   * Worker threads that decode, parse and map `POST /ingest/litellm` bodies, so that JSON parsing and
   * mapping use another core than detection and the writer. `auto`: one per core beyond the first, at most
   * 4 (1 on 2 cores); 0 parses on the main thread.
   */
  parse_workers: z.union([z.literal('auto'), z.number().int().min(0).max(64)]).default('auto'),
})
export type IngestConfig = z.infer<typeof IngestConfig>

/** The Kafka source: a consumer group over `topics`. Absent from the config = no Kafka source. */
export const KafkaConfig = z
  .strictObject({
    brokers: z.array(Broker).min(1),
    topics: z.array(Topic).min(1),
    group_id: z.string().min(1).max(255).default('gatewarden'),
    client_id: z.string().min(1).max(255).default('gatewarden'),
    sasl: KafkaSasl.optional(),
    ssl: z.boolean().default(false),
    /** A group without committed offsets starts at the oldest message (true) or at new ones only (false). */
    from_beginning: z.boolean().default(false),
    /** Message values larger than this are dead-lettered unread. */
    max_message_bytes: z
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /** Format per topic; topics not listed use `auto`. */
    formats: z.record(Topic, KafkaFormat).default({}),
    /** Also produce each dead letter here (best effort; the dead_letters table is the record). */
    dead_letter_topic: Topic.optional(),
    /** Partitions processed at once by one instance; their rows share the writer's batches. */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** Fetch long-poll: how long the broker may hold a fetch when there is nothing new. */
    max_wait_ms: z.number().int().min(10).max(30_000).default(500),
    /**
     * Bytes fetched per partition per request (bounds memory with `concurrency`). Also how many rows a
     * store batch gets: the partitions in flight share the writer's batches, and an insert's fixed cost
     * (tens of ms of engine CPU whatever its rows on the embedded engine: 23 ms for one row) shrinks per
     * event as batches grow.
     * 8 MiB (~1,800 LiteLLM events of 4.6 KB): 10-17% more events/s than 4 MiB in two interleaved pairs of
     * `node dist/bench/run.js --only kafka`, peak RSS 907 / 866 MiB against 868 / 864.
     */
    max_bytes_per_partition: z
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .default(8 * 1024 * 1024),
    session_timeout_ms: z.number().int().min(1000).default(30_000),
    heartbeat_interval_ms: z.number().int().min(100).default(3_000),
    /** How often per-partition lag is refreshed for /metrics. */
    lag_refresh_ms: z.number().int().min(100).default(10_000),
  })
  .superRefine((k, ctx) => {
    for (const topic of Object.keys(k.formats)) {
      if (!k.topics.includes(topic)) {
        ctx.addIssue({
          code: 'custom',
          path: ['formats', topic],
          message: `topic ${topic} is not in kafka.topics`,
        })
      }
    }
    if (k.dead_letter_topic && k.topics.includes(k.dead_letter_topic)) {
      ctx.addIssue({
        code: 'custom',
        path: ['dead_letter_topic'],
        message: 'must not be one of kafka.topics (it would read its own dead letters)',
      })
    }
    if (k.heartbeat_interval_ms >= k.session_timeout_ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeat_interval_ms'],
        message: 'must be below kafka.session_timeout_ms',
      })
    }
  })
export type KafkaConfig = z.infer<typeof KafkaConfig>
