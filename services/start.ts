import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Config } from '../schemas/config.js'
import { MINUTE_ROLLUP_TTL_DAYS } from '../schemas/migrations/003-spend-rollups.js'
import { planCostQuery } from '../core/cost-plan.js'
import { NO_FAILPOINTS, type Failpoints } from '../core/failpoints.js'
import { createStoreClient, type StoreClient } from '../adapters/clickhouse/client.js'
import { applyRetention, migrate } from '../adapters/clickhouse/migrate.js'
import { clickHouseEventStore } from '../adapters/clickhouse/store.js'
import { queryCost } from '../adapters/clickhouse/cost-query.js'
import { listDeadLetters } from '../adapters/clickhouse/dead-letters-table.js'
import { buildApp } from '../adapters/http/app.js'
import { createMetrics } from '../adapters/telemetry/metrics.js'
import { BatchWriter } from './pipeline/batch-writer.js'
import { alertApi } from './detect/alert-api.js'
import { Dispatcher } from './detect/dispatcher.js'
import { DetectionEngine } from './detect/engine.js'
import { createAlertSenders } from '../adapters/alerts/channel-factory.js'
import { createLiteLLMIngest } from './pipeline/litellm-ingest.js'
import { createOtlpIngest } from './pipeline/otlp-ingest.js'
import { loadPriceTable } from './pipeline/price-table.js'
import { startKafkaIngest, type KafkaIngest } from './pipeline/kafka-ingest.js'

/** A running Gatewarden: its address and how to stop it. */
export interface Running {
  app: FastifyInstance
  store: StoreClient
  writer: BatchWriter
  engine: DetectionEngine
  dispatcher: Dispatcher
  /** host:port actually bound (port 0 in config picks a free one). */
  address: { host: string; port: number }
  /** Stops in reverse order: sources (Kafka, HTTP), writer (flush), detection, dispatch, store, metrics. */
  stop(): Promise<void>
}

/**
 * Starts store, detection, pipeline and HTTP in one process. `failpoints` (fault tests only) are armed
 * fault points, parsed by the caller from GATEWARDEN_FAILPOINTS.
 */
export async function start(
  config: Config,
  log: Logger,
  now: () => number = Date.now,
  failpoints: Failpoints = NO_FAILPOINTS,
): Promise<Running> {
  const metrics = createMetrics()
  const store = createStoreClient(config.store)
  log.info({ kind: store.kind, location: store.location, database: store.database }, 'store opening')
  await migrate(store, log.child({ component: 'migrate' }))
  await applyRetention(store, config.store.retention_days, log.child({ component: 'migrate' }))

  // secrets of alert channels are named by environment variable in the config; read here, never deeper
  const senders = createAlertSenders(config.alerts.channels, {
    secrets: (name) => process.env[name],
    log: log.child({ component: 'alerts' }),
  })
  const dispatcher = new Dispatcher(store, senders, config.alerts, log.child({ component: 'dispatch' }))
  const engine = new DetectionEngine({
    store,
    budgets: config.budgets,
    detectors: config.detectors,
    alerts: config.alerts,
    dispatcher,
    metrics,
    log: log.child({ component: 'detect' }),
    now,
  })
  await engine.start()

  const eventStore = clickHouseEventStore(store, failpoints)
  const writer = new BatchWriter(
    eventStore,
    config.writer,
    log.child({ component: 'writer' }),
    {
      batchWritten: (b) => metrics.batchWritten(b.rows + b.deadLetters, b.durationMs),
      batchFailed: (b) => metrics.storeFailure(b.rows),
      storeRetry: () => metrics.storeRetry(),
      eventsStored: (events, submittedAt) => void engine.onStored(events, submittedAt),
    },
    undefined,
    undefined,
    failpoints,
  )
  metrics.gauge('gatewarden_pending_rows', 'Rows accepted and not yet stored', () => writer.pendingRows)

  const ingestLiteLLM = createLiteLLMIngest(
    writer,
    {
      source: 'litellm_http',
      gateway: config.gateway,
      attribution: config.attribution,
      privacy: config.privacy,
    },
    metrics,
    config.store.retention_days,
    now,
  )

  const ingestOtlp = createOtlpIngest(
    writer,
    {
      source: 'otlp',
      gateway: config.gateway,
      attribution: config.attribution.otel,
      privacy: config.privacy,
      prices: loadPriceTable(config.pricing),
    },
    metrics,
    config.store.retention_days,
    now,
  )

  const app = buildApp({
    log: log.child({ component: 'http' }),
    server: config.server,
    // stored, not yet answered: where a crash leaves the sender unacked with its rows in the store
    ingestLiteLLM: async (items, origin) => {
      const out = await ingestLiteLLM(items, origin)
      await failpoints.fire('http.before_ack', { accepted: out.accepted })
      return out
    },
    ingestOtlp: async (request, origin) => {
      const out = await ingestOtlp(request, origin)
      await failpoints.fire('http.before_ack', { accepted: out.accepted })
      return out
    },
    alerts: alertApi(store, now),
    cost: async (q) => {
      const plan = planCostQuery(q, now(), MINUTE_ROLLUP_TTL_DAYS)
      if ('error' in plan) return plan
      const rows = await queryCost(store.client, store.database, q, plan)
      return {
        rows,
        from: new Date(plan.fromMs).toISOString(),
        to: new Date(plan.toMs).toISOString(),
        source: plan.source,
      }
    },
    deadLetters: (limit, source) => listDeadLetters(store.client, store.database, limit, source),
    health: async () => {
      const reachable = await eventStore.ping().catch(() => false)
      return {
        ok: reachable,
        store: reachable ? 'ok' : 'unreachable',
        store_kind: store.kind,
        pending_rows: writer.pendingRows,
      }
    },
    metrics: (req, res) => metrics.handle(req, res),
  })

  await app.listen({ host: config.server.host, port: config.server.port })
  const addr = app.server.address()
  const address =
    typeof addr === 'object' && addr
      ? { host: addr.address, port: addr.port }
      : { host: config.server.host, port: config.server.port }
  log.info({ ...address, auth: Boolean(config.server.auth_token), store: store.kind }, 'gatewarden listening')

  let kafka: KafkaIngest | undefined
  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      log.info('stopping')
      // sources first: the Kafka consumer drains its batch into the writer and commits before the writer closes
      await kafka?.stop()
      await app.close()
      await writer.shutdown()
      await engine.stop()
      await dispatcher.shutdown()
      await store.client.close()
      await metrics.shutdown()
      log.info('stopped')
    })())
  if (config.kafka) {
    const deps = {
      kafka: config.kafka,
      config,
      writer,
      metrics,
      log: log.child({ component: 'kafka' }),
      env: process.env,
      now,
      failpoints,
    }
    kafka = await startKafkaIngest(deps).catch(async (err: unknown) => {
      await stop()
      throw err
    })
  }
  return { app, store, writer, engine, dispatcher, address, stop }
}
