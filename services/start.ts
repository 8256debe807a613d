import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Config } from '../schemas/config.js'
import { MINUTE_ROLLUP_TTL_DAYS } from '../schemas/migrations/003-spend-rollups.js'
import { planCostQuery } from '../core/cost-plan.js'
import { createStoreClient, type StoreClient } from '../adapters/clickhouse/client.js'
import { applyRetention, migrate } from '../adapters/clickhouse/migrate.js'
import { clickHouseEventStore } from '../adapters/clickhouse/store.js'
import { queryCost } from '../adapters/clickhouse/cost-query.js'
import { listDeadLetters } from '../adapters/clickhouse/dead-letters-table.js'
import { buildApp } from '../adapters/http/app.js'
import { createMetrics } from '../adapters/telemetry/metrics.js'
import { BatchWriter } from './ingest/batch-writer.js'
import { alertApi } from './detect/alert-api.js'
import { Dispatcher } from './detect/dispatcher.js'
import { DetectionEngine } from './detect/engine.js'
import { createAlertSenders } from '../adapters/alerts/channel-factory.js'
import { createLiteLLMIngest } from './ingest/litellm-ingest.js'
import { createOtlpIngest } from './ingest/otlp-ingest.js'
import { loadPriceTable } from './ingest/price-table.js'
import { startKafkaIngest, type KafkaIngest } from './ingest/kafka-ingest.js'
import { clickHouseRuleStore } from '../adapters/clickhouse/rules-table.js'
import { Enforcer } from './enforce/enforcer.js'
import { createGatewayTargets } from '../adapters/gateway/target-factory.js'
import { readFileSync } from 'node:fs'
import type { Alert } from '../core/alerts/alert.js'

/** A running Gatewarden: its address and how to stop it. */
export interface Running {
  app: FastifyInstance
  store: StoreClient
  writer: BatchWriter
  engine: DetectionEngine
  dispatcher: Dispatcher
  /** Present unless `enforcement.mode` is off. */
  enforcer: Enforcer | undefined
  /** host:port actually bound (port 0 in config picks a free one). */
  address: { host: string; port: number }
  /** Stops in reverse order: sources (Kafka, HTTP), writer (flush), detection, dispatch, store, metrics. */
  stop(): Promise<void>
}

/** Starts store, detection, pipeline and HTTP in one process. */
export async function start(config: Config, log: Logger, now: () => number = Date.now): Promise<Running> {
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
  // the enforcer pushes and expires rules on the budget leader only (one instance acts on each change)
  let isLeader = () => false
  let openAlerts = (): Alert[] => []
  const enforcer =
    config.enforcement.mode === 'off'
      ? undefined
      : new Enforcer({
          store: clickHouseRuleStore(store.client, store.database),
          // target secrets are named by env variable or file in the config; read here, never deeper
          targets: createGatewayTargets(config.enforcement.targets, {
            secrets: (name) => process.env[name],
            readFile: (path) => readFileSync(path, 'utf8'),
            log: log.child({ component: 'enforce' }),
          }),
          policy: { enforcement: config.enforcement, zombieAction: config.detectors.zombie.action },
          tickMs: config.enforcement.tick,
          isLeader: () => isLeader(),
          openAlerts: () => openAlerts(),
          log: log.child({ component: 'enforce' }),
          now,
        })
  await enforcer?.start()
  const engine = new DetectionEngine({
    store,
    budgets: config.budgets,
    detectors: config.detectors,
    alerts: config.alerts,
    dispatcher,
    metrics,
    log: log.child({ component: 'detect' }),
    now,
    ...(enforcer ? { onAlertChanges: (alerts, at) => enforcer.onAlertChanges(alerts, at) } : {}),
  })
  isLeader = () => engine.isBudgetLeader
  openAlerts = () => engine.openAlerts()
  await engine.start()

  const eventStore = clickHouseEventStore(store)
  const writer = new BatchWriter(eventStore, config.writer, log.child({ component: 'writer' }), {
    batchWritten: (b) => metrics.batchWritten(b.rows + b.deadLetters, b.durationMs),
    batchFailed: (b) => metrics.storeFailure(b.rows),
    storeRetry: () => metrics.storeRetry(),
    eventsStored: (events, submittedAt) => void engine.onStored(events, submittedAt),
  })
  metrics.gauge('gatewarden_pending_rows', 'Rows accepted and not yet stored', () => writer.pendingRows)

  const sourceDeps = { writer, metrics, retentionDays: config.store.retention_days, now }
  const ingestLiteLLM = createLiteLLMIngest({
    ...sourceDeps,
    mapper: {
      source: 'litellm_http',
      gateway: config.gateway,
      attribution: config.attribution,
      privacy: config.privacy,
    },
  })

  const ingestOtlp = createOtlpIngest({
    ...sourceDeps,
    mapper: {
      source: 'otlp',
      gateway: config.gateway,
      attribution: config.attribution.otel,
      privacy: config.privacy,
      prices: loadPriceTable(config.pricing),
    },
  })

  const app = buildApp({
    log: log.child({ component: 'http' }),
    server: config.server,
    ingestLiteLLM,
    ingestOtlp,
    alerts: alertApi(store, now),
    ...(enforcer
      ? {
          rules: {
            active: () => enforcer.active(),
            list: (f) => enforcer.list(f),
            get: (id) => enforcer.get(id),
            create: (input) => enforcer.createManual(input),
            lift: (id, by) => enforcer.lift(id, by),
          },
        }
      : {}),
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
      await enforcer?.shutdown(5_000)
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
    }
    kafka = await startKafkaIngest(deps).catch(async (err: unknown) => {
      await stop()
      throw err
    })
  }
  return { app, store, writer, engine, dispatcher, enforcer, address, stop }
}
