import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Config } from '../schemas/config.js'
import { MINUTE_ROLLUP_TTL_DAYS } from '../schemas/migrations/003-spend-rollups.js'
import { NO_FAILPOINTS, type Failpoints } from '../core/failpoints.js'
import { createStoreClient, type StoreClient } from '../adapters/clickhouse/client.js'
import { applyRetention, migrate } from '../adapters/clickhouse/migrate.js'
import { repairRollups, type RollupRepairReport } from '../adapters/clickhouse/rollup-repair.js'
import { clickHouseEventStore } from '../adapters/clickhouse/store.js'
import { clickHouseAlertStore } from '../adapters/clickhouse/alerts-table.js'
import { clickHouseSpendReader } from '../adapters/clickhouse/budget-spend.js'
import { clickHouseHourlySpendReader } from '../adapters/clickhouse/hourly-spend.js'
import { clickHouseMinuteSpendReader } from '../adapters/clickhouse/minute-spend.js'
import { clickHouseLeaderElection } from '../adapters/clickhouse/heartbeats-table.js'
import { clickHouseOutbox } from '../adapters/clickhouse/outbox-table.js'
import { clickHouseEventReader } from '../adapters/clickhouse/requests-table.js'
import type { NamedPart } from '../core/lifecycle.js'
import { clickHouseCostReader } from '../adapters/clickhouse/cost-query.js'
import { costApi } from './cost/cost-api.js'
import { clickHouseDeadLetterReader } from '../adapters/clickhouse/dead-letters-table.js'
import { buildApp } from '../adapters/http/app.js'
import { createMetrics } from '../adapters/telemetry/metrics.js'
import { registerBudgetGauges } from './detect/budget-gauges.js'
import { BatchWriter } from './ingest/batch-writer.js'
import { alertApi } from './detect/alert-api.js'
import { Dispatcher } from './detect/dispatcher.js'
import { DetectionEngine } from './detect/engine.js'
import { createAlertSenders } from '../adapters/alerts/channel-factory.js'
import { createLiteLLMIngest } from './ingest/litellm-ingest.js'
import { ParsePool, parseWorkerCount } from './ingest/parse-pool.js'
import { createOtlpIngest } from './ingest/otlp-ingest.js'
import { loadPriceTable } from './ingest/price-table.js'
import { KafkaIngest } from './ingest/kafka-ingest.js'
import { startAll, stopAll, stopOnlyPart, within } from './lifecycle.js'
import { readFileSync } from 'node:fs'
import { clickHouseRuleStore } from '../adapters/clickhouse/rules-table.js'
import { createGatewayTargets } from '../adapters/gateway/target-factory.js'
import { Enforcer } from './enforce/enforcer.js'
import { budgetApi } from './detect/budget-api.js'
import { clickHouseBudgetStore } from '../adapters/clickhouse/budgets-table.js'
import { clickHouseTierStore } from '../adapters/clickhouse/tiers-table.js'
import { CustomerTiers } from './ingest/customer-tiers.js'
import { createKafkaClient } from '../adapters/kafka/client.js'
import { IngestProducer } from '../adapters/kafka/ingest-producer.js'
import { viaKafkaWriter } from './ingest/via-kafka.js'

/** How long a stop may take overall (sources drain, the writer flushes, deliveries finish). */
export const SHUTDOWN_TIMEOUT_MS = 30_000

/** A running Gatewarden: its address and how to stop it. */
export interface Running {
  app: FastifyInstance
  store: StoreClient
  writer: BatchWriter
  engine: DetectionEngine
  dispatcher: Dispatcher
  /** Present unless `enforcement.mode` is off. */
  enforcer: Enforcer | undefined
  /**
   * Checks the rollups against raw rows over `store.rollup_repair_hours` and rebuilds the hours that
   * differ (also run at start). Exact only with no insert in flight into those hours.
   */
  repairRollups(): Promise<RollupRepairReport>
  /** host:port actually bound (port 0 in config picks a free one). */
  address: { host: string; port: number }
  /**
   * Stops every part in reverse order of start: sources (Kafka, HTTP), writer (flush), detection,
   * dispatch, store, metrics; all within `timeoutMs` (default `SHUTDOWN_TIMEOUT_MS`).
   */
  stop(timeoutMs?: number): Promise<void>
}

/** What tests may replace; production passes nothing. */
export interface StartOptions {
  /** Opens the store connection (default `createStoreClient`). */
  openStore?: (cfg: Config['store'], observe: Parameters<typeof createStoreClient>[1]) => StoreClient
  /** Armed fault points (fault tests only), parsed by the caller from GATEWARDEN_FAILPOINTS. */
  failpoints?: Failpoints
}

/**
 * Starts store, dispatch, detection, pipeline and HTTP in one process, each a part with the one
 * lifecycle (core/lifecycle.ts). When any part fails to start, the parts already started are shut
 * down (reverse order, bounded) before the error is rethrown: nothing stays open.
 */
export async function start(
  config: Config,
  log: Logger,
  now: () => number = Date.now,
  opts: StartOptions = {},
): Promise<Running> {
  const failpoints = opts.failpoints ?? NO_FAILPOINTS
  const metrics = createMetrics()
  const store = (opts.openStore ?? createStoreClient)(config.store, {
    statement: (info) => metrics.storeStatement(info),
  })
  // a kill -9 mid-insert can leave a batch in `requests` and not in spend_by_*: heal it before any source
  const rollupLog = log.child({ component: 'rollup-repair' })
  const lastRepair = { repaired: 0, unrepaired: 0 }
  const repair = async (): Promise<RollupRepairReport> => {
    const bounds = {
      windowHours: config.store.rollup_repair_hours,
      retentionDays: config.store.retention_days,
    }
    const report = await repairRollups(store, bounds, rollupLog).catch((err: unknown) => {
      lastRepair.unrepaired = Math.max(1, lastRepair.unrepaired)
      throw err
    })
    Object.assign(lastRepair, { repaired: report.repaired.length, unrepaired: report.unrepaired.length })
    return report
  }
  metrics.gauge(
    'gatewarden_rollup_repaired_hour_slots',
    'Rollup hours rebuilt by the last repair',
    () => lastRepair.repaired,
  )
  metrics.gauge(
    'gatewarden_rollup_unrepaired_hour_slots',
    'Rollup hours still differing from raw rows after the last repair (1 when it could not run)',
    () => lastRepair.unrepaired,
  )
  const storePart: NamedPart = {
    name: 'store',
    part: {
      start: async () => {
        log.info({ kind: store.kind, location: store.location, database: store.database }, 'store opening')
        await migrate(store, log.child({ component: 'migrate' }))
        await applyRetention(store, config.store.retention_days, log.child({ component: 'migrate' }))
        // a failed repair is loud (error log, gauge) but does not stop ingest: raw rows are complete
        await repair().catch((err: unknown) => rollupLog.error({ err }, 'rollup repair could not run'))
      },
      flush: () => Promise.resolve(),
      shutdown: (timeoutMs) => within(store.client.close(), timeoutMs).then(() => undefined),
    },
  }
  const metricsPart: NamedPart = { name: 'metrics', part: stopOnlyPart(() => metrics.shutdown()) }

  // secrets of alert channels are named by environment variable in the config; read here, never deeper
  const senders = createAlertSenders(config.alerts.channels, {
    secrets: (name) => process.env[name],
    log: log.child({ component: 'alerts' }),
  })
  const alertStore = clickHouseAlertStore(store)
  const dispatcher = new Dispatcher(
    clickHouseOutbox(store),
    senders,
    config.alerts,
    log.child({ component: 'dispatch' }),
  )
  metrics.gauge(
    'gatewarden_alert_outbox_pending',
    'Notifications not yet delivered',
    () => dispatcher.pending,
  )
  // the enforcer pushes and expires rules on the budget leader only (one instance acts on each change)
  const late: { engine?: DetectionEngine } = {}
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
          isLeader: () => late.engine?.isBudgetLeader ?? false,
          openAlerts: () => late.engine?.openAlerts() ?? [],
          log: log.child({ component: 'enforce' }),
          now,
        })
  if (enforcer)
    metrics.gauge('gatewarden_rules_in_force', 'Guardrail rules in force (pending or active)', () =>
      enforcer
        .inForceCounts()
        .map((c) => ({ value: c.n, attributes: { mode: c.mode, action: c.action, state: c.state } })),
    )
  const budgets = budgetApi({
    store: clickHouseBudgetStore(store.client, store.database),
    configured: config.budgets,
    gatewayModels: config.enforcement.gateway_models,
    now,
  })
  const engine = new DetectionEngine({
    ports: {
      events: clickHouseEventReader(store),
      alerts: alertStore,
      spend: clickHouseSpendReader(store),
      hourly: clickHouseHourlySpendReader(store),
      minutes: clickHouseMinuteSpendReader(store),
      election: clickHouseLeaderElection(store),
    },
    budgets: config.budgets,
    runtimeBudgets: budgets.runtime,
    detectors: config.detectors,
    alerts: config.alerts,
    dispatcher,
    metrics,
    log: log.child({ component: 'detect' }),
    now,
    onAlertChanges: async (alerts, at) => {
      for (const a of alerts) metrics.alertChanged(a.type, a.state)
      await enforcer?.onAlertChanges(alerts, at)
    },
  })
  late.engine = engine
  registerBudgetGauges(metrics, engine)

  const eventStore = clickHouseEventStore(store, {
    failpoints,
    dedupeFilterMiB: config.store.dedupe_filter_mib,
    dedupeLookup: (how, ids) => metrics.dedupeLookup(how, ids),
  })
  const writer = new BatchWriter(
    eventStore,
    config.writer,
    log.child({ component: 'writer' }),
    {
      batchWritten: (b) => metrics.batchWritten(b.rows + b.deadLetters, b.durationMs),
      batchFailed: (b) => metrics.storeFailure(b.rows),
      storeRetry: () => metrics.storeRetry(),
      deadLettersStored: (rows) => {
        const by = new Map<string, { source: string; code: string; n: number }>()
        for (const d of rows) {
          const k = `${d.source}\0${d.code}`
          const c = by.get(k) ?? by.set(k, { source: d.source, code: d.code, n: 0 }).get(k)!
          c.n++
        }
        for (const c of by.values()) metrics.deadLettersStored(c.source, c.code, c.n)
      },
      eventsStored: (events, submittedAt) => void engine.onStored(events, submittedAt),
    },
    undefined,
    undefined,
    failpoints,
  )
  metrics.gauge('gatewarden_pending_rows', 'Rows accepted and not yet stored', () => writer.pendingRows)

  // tiers set through the API win over the payload's; reloaded every tick so all instances agree
  const tiers = new CustomerTiers(clickHouseTierStore(store.client, store.database), {
    refreshMs: config.detectors.tick,
    log: log.child({ component: 'tiers' }),
    now,
  })
  // ingest.via_kafka: HTTP/OTLP events go to the ingest topic (acked once the brokers have them), the
  // consumer group below stores them; the config check guarantees `kafka` is set
  const viaKafka = config.ingest.via_kafka && config.kafka ? config.kafka : undefined
  const ingestProducer = viaKafka
    ? new IngestProducer(
        createKafkaClient(
          viaKafka,
          viaKafka.sasl ? process.env[viaKafka.sasl.password_env] : undefined,
          log.child({ component: 'ingest-topic' }),
        ),
        config.ingest.topic,
        log.child({ component: 'ingest-topic' }),
      )
    : undefined
  const ingestTopicPart: NamedPart[] = ingestProducer
    ? [
        {
          name: 'ingest-topic',
          part: {
            start: () => ingestProducer.start(),
            flush: () => Promise.resolve(),
            shutdown: (timeoutMs) => within(ingestProducer.shutdown(), timeoutMs).then(() => undefined),
          },
        },
      ]
    : []
  const sourceDeps = {
    writer: ingestProducer ? viaKafkaWriter(ingestProducer, writer) : writer,
    metrics,
    tiers,
    retentionDays: config.store.retention_days,
    now,
  }
  const litellmMapper = {
    source: 'litellm_http' as const,
    gateway: config.gateway,
    attribution: config.attribution,
    privacy: config.privacy,
  }
  const workers = parseWorkerCount(config.ingest.parse_workers)
  const parsePool =
    workers > 0
      ? new ParsePool(
          workers,
          {
            litellm: litellmMapper,
            ...(config.kafka
              ? {
                  kafka: {
                    kafka: {
                      formats: config.kafka.formats,
                      max_message_bytes: config.kafka.max_message_bytes,
                    },
                    config: {
                      gateway: config.gateway,
                      attribution: config.attribution,
                      privacy: config.privacy,
                      pricing: config.pricing,
                    },
                  },
                }
              : {}),
          },
          log.child({ component: 'parse' }),
        )
      : undefined
  // started before the HTTP listener and stopped after it: a body in flight finishes its parse
  const parsePart: NamedPart[] = parsePool ? [{ name: 'parse-workers', part: parsePool }] : []
  const ingestLiteLLM = createLiteLLMIngest({
    ...sourceDeps,
    mapper: litellmMapper,
    bodyLimitBytes: config.server.body_limit_bytes,
    ...(parsePool ? { prepare: parsePool.prepareBody } : {}),
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

  const costReader = clickHouseCostReader(store)
  const deadLetterReader = clickHouseDeadLetterReader(store)
  const app = buildApp({
    log: log.child({ component: 'http' }),
    server: config.server,
    // stored, not yet answered: where a crash leaves the sender unacked with its rows in the store
    ingestLiteLLM: async (body, origin) => {
      const out = await ingestLiteLLM(body, origin)
      await failpoints.fire('http.before_ack', { accepted: out.accepted })
      return out
    },
    ingestOtlp: async (request, origin) => {
      const out = await ingestOtlp(request, origin)
      await failpoints.fire('http.before_ack', { accepted: out.accepted })
      return out
    },
    alerts: alertApi(alertStore, now),
    budgets,
    tiers,
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
    cost: costApi(costReader, now, MINUTE_ROLLUP_TTL_DAYS),
    deadLetters: (limit, source) => deadLetterReader.list(limit, source),
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

  const address = { host: config.server.host, port: config.server.port }
  const httpPart: NamedPart = {
    name: 'http',
    part: {
      start: async () => {
        await app.listen({ host: config.server.host, port: config.server.port })
        const addr = app.server.address()
        if (typeof addr === 'object' && addr) Object.assign(address, { host: addr.address, port: addr.port })
        log.info(
          { ...address, auth: Boolean(config.server.auth_token), store: store.kind },
          'gatewarden listening',
        )
      },
      flush: () => Promise.resolve(),
      shutdown: (timeoutMs) => within(app.close(), timeoutMs).then(() => undefined),
    },
  }

  // drains its batches into the writer and commits before the writer closes (stopped before it)
  const kafkaPart: NamedPart[] = config.kafka
    ? [
        {
          name: 'kafka',
          part: new KafkaIngest({
            kafka: config.kafka,
            config,
            writer,
            metrics,
            log: log.child({ component: 'kafka' }),
            env: process.env,
            now,
            failpoints,
            tiers,
            ...(viaKafka ? { ingestTopic: config.ingest.topic } : {}),
            ...(parsePool ? { prepare: parsePool.prepareRecords } : {}),
          }),
        },
      ]
    : []

  // start order; stop is the reverse: sources first, the store last
  const parts: NamedPart[] = [
    metricsPart,
    storePart,
    { name: 'dispatcher', part: dispatcher },
    // before the engine: restored alerts may hand it changes at start
    ...(enforcer ? [{ name: 'enforcer', part: enforcer }] : []),
    { name: 'engine', part: engine },
    { name: 'tiers', part: tiers },
    { name: 'writer', part: writer },
    // before HTTP (stopped after it): an answer waits for the brokers
    ...ingestTopicPart,
    ...parsePart,
    httpPart,
    ...kafkaPart,
  ]
  const started = await startAll(parts, SHUTDOWN_TIMEOUT_MS, log)

  let stopping: Promise<void> | undefined
  const stop = (timeoutMs = SHUTDOWN_TIMEOUT_MS) =>
    (stopping ??= (async () => {
      log.info('stopping')
      const unclean = await stopAll(started, timeoutMs, log)
      log.info({ unclean }, 'stopped')
    })())
  return { app, store, writer, engine, dispatcher, enforcer, repairRollups: repair, address, stop }
}
