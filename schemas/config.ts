import { z } from 'zod'
import { IngestConfig, KafkaConfig } from './kafka-config.js'
import { attributionLists } from './attribution-lists.js'
import { AlertsConfig, Budget, DetectorsConfig, type EnforcementAction } from './policy.js'
import { EnforcementConfig } from './enforcement-config.js'
import { OtelAttributionConfig } from './otel-attribution.js'
import { PricingConfig } from './pricing.js'

/** Default attribution field paths for LiteLLM payloads (README "Attribution"). First non-empty wins. */
export const DEFAULT_ATTRIBUTION = {
  customer: [
    'end_user',
    'metadata.user_api_key_end_user_id',
    'metadata.spend_logs_metadata.customer',
    'tag:customer',
  ],
  agent: [
    'metadata.spend_logs_metadata.agent',
    'metadata.requester_custom_headers.x-agent-name',
    'tag:agent',
  ],
  endpoint: [
    'metadata.spend_logs_metadata.endpoint',
    'metadata.requester_custom_headers.x-endpoint',
    'tag:endpoint',
    'metadata.user_api_key_request_route',
  ],
  session: [
    'session_id',
    'metadata.spend_logs_metadata.session',
    'metadata.spend_logs_metadata.session_id',
    'tag:session',
  ],
  tier: [
    'metadata.spend_logs_metadata.tier',
    'metadata.spend_logs_metadata.customer_tier',
    'metadata.requester_custom_headers.x-customer-tier',
    'tag:tier',
  ],
} as const

/** Which payload fields feed customer, agent, endpoint, session and the customer's tier. */
export const AttributionConfig = attributionLists(DEFAULT_ATTRIBUTION).extend({
  /** The same four lists for OTLP spans, with OpenTelemetry defaults. */
  otel: OtelAttributionConfig.default(OtelAttributionConfig.parse({})),
})
export type AttributionConfig = z.infer<typeof AttributionConfig>

/** Prompt storage: off by default; only the fingerprint is kept. */
export const PrivacyConfig = z.strictObject({
  store_prompts: z.boolean().default(false),
  max_prompt_chars: z.number().int().min(0).max(1_000_000).default(4000),
})
export type PrivacyConfig = z.infer<typeof PrivacyConfig>

const Identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*)')

/** Store: embedded engine (data_dir) unless `clickhouse_url` names a server. */
export const StoreConfig = z.strictObject({
  data_dir: z.string().min(1).default('./data'),
  clickhouse_url: z.url({ protocol: /^https?$/ }).optional(),
  clickhouse_user: z.string().default('default'),
  clickhouse_password: z.string().default(''),
  database: Identifier.default('gatewarden'),
  /**
   * Days raw `requests` rows are kept; 0 (default) keeps them forever. Events older than this are
   * dead-lettered on arrival: TTL would delete the raw row while the rollups kept it, and a redelivery
   * could then not be recognised as a duplicate.
   */
  retention_days: z.number().int().min(0).max(36500).default(0),
  /**
   * At each start the rollups (`spend_by_*`) are checked against raw `requests` for every hour that got
   * rows in the last this many hours (by `received_at`), and the hours that disagree are rebuilt (a kill -9
   * mid-insert can commit a batch to `requests` and not to a rollup). 0 turns the check off.
   */
  rollup_repair_hours: z
    .number()
    .int()
    .min(0)
    .max(24 * 366)
    .default(48),
  request_timeout_ms: z.number().int().min(100).default(30_000),
  /**
   * How request rows travel to the store. `auto`: RowBinary staged in the data directory on the embedded
   * engine (~7x faster to parse than JSON), JSONEachRow over HTTP to a server. `json` forces JSONEachRow
   * everywhere (what a server gets, e.g. to reproduce its parsing on the embedded engine).
   */
  insert_format: z.enum(['auto', 'json']).default('auto'),
  /**
   * Embedded engine only: memory (MiB) for a filter of the event ids this process stored, so the
   * duplicate lookup before each insert asks the store only about ids it may hold (0: always ask the
   * store). 32 MiB files ~11M ids, about 35 minutes at 5,000 events/s.
   */
  dedupe_filter_mib: z.number().int().min(0).max(1024).default(32),
})
export type StoreConfig = z.infer<typeof StoreConfig>

/** The batched writer between every source and the store. */
export const WriterConfig = z.strictObject({
  /** Flush when this many rows are queued. */
  max_batch_rows: z.number().int().min(1).max(1_000_000).default(10_000),
  /**
   * Flush at most this long after the first queued row (then at once when `max_batch_rows` is reached).
   * Rows arriving while a batch is being written go in the next batch right after it (group commit),
   * so under load batches grow on their own and this only bounds the wait of a lone sender.
   */
  max_batch_wait_ms: z.number().int().min(1).max(60_000).default(50),
  /** Rows queued (not yet stored) beyond which new input is refused (HTTP 503 + Retry-After; Kafka pauses). */
  max_pending_rows: z.number().int().min(1).default(200_000),
  /** How long a batch is retried against an unavailable store before its senders get an error. */
  store_retry_deadline_ms: z.number().int().min(0).default(10_000),
})
export type WriterConfig = z.infer<typeof WriterConfig>

/** The HTTP listener (ingest + API). */
export const ServerConfig = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(4318),
  /** Bearer token for /ingest/* and /api/*; required when `host` is not a loopback address. */
  auth_token: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Largest accepted request body. LiteLLM batches up to 512 payloads per POST. */
  body_limit_bytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 ** 3)
    .default(32 * 1024 * 1024),
})
export type ServerConfig = z.infer<typeof ServerConfig>

export const LogConfig = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/

/** The whole configuration: YAML file + environment overrides, parsed once at start. */
export const Config = z
  .strictObject({
    gateway: z.string().max(128).default('litellm'),
    server: ServerConfig.default(ServerConfig.parse({})),
    store: StoreConfig.default(StoreConfig.parse({})),
    writer: WriterConfig.default(WriterConfig.parse({})),
    attribution: AttributionConfig.default(AttributionConfig.parse({})),
    privacy: PrivacyConfig.default(PrivacyConfig.parse({})),
    log: LogConfig.default(LogConfig.parse({})),
    /** Prices for events that carry no cost (OTLP spans without a cost attribute). */
    pricing: PricingConfig.default(PricingConfig.parse({})),
    /** Kafka source; absent = none. */
    kafka: KafkaConfig.optional(),
    /** HTTP/OTLP ingest written to a Kafka topic before it is acknowledged (needs `kafka`). */
    ingest: IngestConfig.prefault({}),
    /** Spend budgets the burn-rate and exhaustion detectors judge. */
    budgets: z.array(Budget).default([]),
    /** Detector settings; loops and zombie agents work with none. */
    detectors: DetectorsConfig.prefault({}),
    /** Where alerts go, grouping, renotification. */
    alerts: AlertsConfig.prefault({}),
    /** Guardrail rules pushed back to the gateway (off by default; try dry_run first). */
    enforcement: EnforcementConfig.prefault({}),
  })
  .superRefine((c, ctx) => {
    const names = c.budgets.map((b) => b.name)
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        ctx.addIssue({
          code: 'custom',
          path: ['budgets', i, 'name'],
          message: `budget name "${n}" is used twice`,
        })
    })
    // a rule never widens access: a downgrade may only point at models the gateway serves
    const models = c.enforcement.gateway_models
    const actions: Array<[EnforcementAction | undefined, (string | number)[]]> = [
      [c.detectors.loop.action, ['detectors', 'loop', 'action']],
      [c.detectors.zombie.action, ['detectors', 'zombie', 'action']],
      [c.detectors.spend_anomaly.action, ['detectors', 'spend_anomaly', 'action']],
      ...c.budgets.map((b, i): [EnforcementAction | undefined, (string | number)[]] => [
        b.on_exhausted,
        ['budgets', i, 'on_exhausted'],
      ]),
    ]
    for (const [action, path] of actions) {
      if (action?.action !== 'downgrade' || models.length === 0) continue
      const unknown = Object.values(action.map).filter((m) => !models.includes(m))
      if (unknown.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'map'],
          message: `downgrade target(s) ${unknown.join(', ')} not in enforcement.gateway_models`,
        })
    }
    if (c.ingest.via_kafka && !c.kafka) {
      ctx.addIssue({
        code: 'custom',
        path: ['ingest', 'via_kafka'],
        message: 'needs a kafka section (brokers) to write the ingest topic to',
      })
    }
    if (c.ingest.via_kafka && c.kafka) {
      const { topic } = c.ingest
      if (c.kafka.topics.includes(topic) || c.kafka.dead_letter_topic === topic)
        ctx.addIssue({
          code: 'custom',
          path: ['ingest', 'topic'],
          message: `${topic} must not be in kafka.topics nor be kafka.dead_letter_topic (it is consumed as canonical events on its own)`,
        })
    }
    if (!LOOPBACK.test(c.server.host) && !c.server.auth_token) {
      ctx.addIssue({
        code: 'custom',
        path: ['server', 'auth_token'],
        message: `required when server.host (${c.server.host}) is not loopback: set GATEWARDEN_AUTH_TOKEN or server.auth_token`,
      })
    }
  })
export type Config = z.infer<typeof Config>
