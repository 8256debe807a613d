import type { IncomingMessage, ServerResponse } from 'node:http'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { registerRuntimeMetrics } from './runtime-metrics.js'

/** One series of a gauge with attributes. */
export interface GaugePoint {
  value: number
  attributes: Record<string, string | number>
}

/** Gatewarden's own metrics: OpenTelemetry instruments, read as Prometheus text on GET /metrics. */
export interface Metrics {
  eventsAccepted(source: string, n: number): void
  eventsRejected(source: string, n: number): void
  eventsDuplicate(source: string, n: number): void
  /** Label values cut by the truncation rule (core/ingest/labels.ts); their events are stored. */
  valuesTruncated(source: string, n: number): void
  /** Dead letters stored, by stable code (`GW_DL_*`) and source: `gatewarden_dead_letters_total{code,source}`. */
  deadLettersStored(source: string, code: string, n: number): void
  batchWritten(rows: number, durationMs: number): void
  storeRetry(): void
  /**
   * One statement of the embedded engine's single session (store-lanes.ts): how long it waited for the
   * engine and how long it ran, by lane and `verb table` label.
   */
  storeStatement(info: { lane: string; statement: string; waitMs: number; runMs: number; ok: boolean }): void
  storeFailure(rows: number): void
  ingestRefused(source: string, reason: string): void
  /** One duplicate lookup before an insert: how it went (store, narrowed, skipped) and ids asked of the store. */
  dedupeLookup(how: string, idsAsked: number): void
  /** One stored alert change (`firing`, `resolved`) of a detector type. */
  alertChanged(type: string, state: string): void
  /** Registers a gauge read at each scrape: one value, or one value per attribute set (e.g. per partition). */
  gauge(name: string, description: string, read: () => number | readonly GaugePoint[]): void
  /** Writes the Prometheus text exposition. */
  handle(req: IncomingMessage, res: ServerResponse): void
  shutdown(): Promise<void>
}

/** Creates the meter provider and the Prometheus reader (no server of its own: served on the API port). */
export function createMetrics(): Metrics {
  const exporter = new PrometheusExporter({ preventServerStart: true })
  const provider = new MeterProvider({ readers: [exporter] })
  const meter = provider.getMeter('gatewarden')
  const accepted = meter.createCounter('gatewarden_events_accepted', {
    description: 'Events accepted (stored or duplicate)',
  })
  const rejected = meter.createCounter('gatewarden_events_dead_lettered', {
    description: 'Input items dead-lettered',
  })
  const duplicate = meter.createCounter('gatewarden_events_duplicate', {
    description: 'Events dropped as already stored',
  })
  const truncated = meter.createCounter('gatewarden_values_truncated', {
    description: 'Label values cut to their limit (the events are stored)',
  })
  const deadLetters = meter.createCounter('gatewarden_dead_letters', {
    description: 'Dead letters stored, by code (GW_DL_*) and source',
  })
  const refused = meter.createCounter('gatewarden_ingest_refused', {
    description: 'Submissions refused (backpressure, store down)',
  })
  const batchRows = meter.createHistogram('gatewarden_batch_rows', {
    description: 'Rows per stored batch',
    advice: { explicitBucketBoundaries: [1, 10, 100, 500, 1000, 5000, 10000, 50000] },
  })
  const storeLatency = meter.createHistogram('gatewarden_store_write_seconds', {
    description: 'Time to store one batch (lookup + insert)',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
  })
  const statementSeconds = meter.createHistogram('gatewarden_store_statement_seconds', {
    description: 'Time one statement held the embedded engine, by lane and statement (verb table)',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 20] },
  })
  const waitSeconds = meter.createHistogram('gatewarden_store_wait_seconds', {
    description: 'Time one statement waited for the embedded engine (busy with others), by lane',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 20] },
  })
  const retries = meter.createCounter('gatewarden_store_retries', { description: 'Store write retries' })
  const failures = meter.createCounter('gatewarden_store_failed_rows', {
    description: 'Rows whose batch failed for good',
  })
  const dedupeLookups = meter.createCounter('gatewarden_dedupe_lookups', {
    description:
      'Duplicate lookups before an insert, by how: store (every id asked), narrowed (the filter of stored ids left some), skipped (none)',
  })
  const dedupeIds = meter.createCounter('gatewarden_dedupe_ids_asked', {
    description: 'Event ids the duplicate lookups asked the store about',
  })
  const alertChanges = meter.createCounter('gatewarden_alert_changes', {
    description: 'Alert state changes stored, by detector type and new state',
  })
  // not part of the runtime instrumentation (it is host metrics' in OpenTelemetry): the resident set size
  meter
    .createObservableGauge('process.memory.usage', { description: 'Resident set size', unit: 'By' })
    .addCallback((r) => r.observe(process.memoryUsage.rss()))
  const stopRuntime = registerRuntimeMetrics(provider)
  return {
    eventsAccepted: (source, n) => accepted.add(n, { source }),
    eventsRejected: (source, n) => rejected.add(n, { source }),
    eventsDuplicate: (source, n) => duplicate.add(n, { source }),
    valuesTruncated: (source, n) => truncated.add(n, { source }),
    deadLettersStored: (source, code, n) => deadLetters.add(n, { code, source }),
    batchWritten: (rows, ms) => {
      batchRows.record(rows)
      storeLatency.record(ms / 1000)
    },
    storeRetry: () => retries.add(1),
    storeStatement: ({ lane, statement, waitMs, runMs, ok }) => {
      statementSeconds.record(runMs / 1000, { lane, statement, outcome: ok ? 'ok' : 'error' })
      waitSeconds.record(waitMs / 1000, { lane })
    },
    storeFailure: (rows) => failures.add(rows),
    ingestRefused: (source, reason) => refused.add(1, { source, reason }),
    alertChanged: (type, state) => alertChanges.add(1, { type, state }),
    dedupeLookup: (how, ids) => {
      dedupeLookups.add(1, { how })
      dedupeIds.add(ids)
    },
    gauge: (name, description, read) => {
      meter.createObservableGauge(name, { description }).addCallback((r) => {
        const v = read()
        if (typeof v === 'number') r.observe(v)
        else for (const p of v) r.observe(p.value, p.attributes)
      })
    },
    handle: (req, res) => exporter.getMetricsRequestHandler(req, res),
    shutdown: () => {
      stopRuntime()
      return provider.shutdown()
    },
  }
}
