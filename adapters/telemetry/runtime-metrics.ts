import { constants, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks'
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'
import type { Meter } from '@opentelemetry/api'

/** GC kinds as `@opentelemetry/instrumentation-runtime-node` names them (attribute `v8js_gc_type`). */
const GC_TYPES: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
}

/**
 * The Node runtime's own metrics on the meter, under the names of the OpenTelemetry runtime
 * instrumentation (`nodejs.eventloop.delay.*`, `nodejs.eventloop.utilization`, `v8js.memory.heap.*`,
 * `v8js.gc.duration`), read from `node:perf_hooks` and `node:v8`: that package is not a dependency yet,
 * and switching to it keeps the series. Returns the stop function (monitor and observer off).
 */
export function registerRuntimeMetrics(meter: Meter): () => void {
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  let lastElu = performance.eventLoopUtilization()
  const stats = {
    min: (h: typeof delay) => h.min,
    max: (h: typeof delay) => h.max,
    mean: (h: typeof delay) => h.mean,
    p50: (h: typeof delay) => h.percentile(50),
    p90: (h: typeof delay) => h.percentile(90),
    p99: (h: typeof delay) => h.percentile(99),
  }
  const gauges = Object.entries(stats).map(
    ([name, read]) =>
      [
        meter.createObservableGauge(`nodejs.eventloop.delay.${name}`, {
          description: `Event loop delay (${name}) since the previous scrape`,
          unit: 's',
        }),
        read,
      ] as const,
  )
  // one callback for all: read together, then start the next interval
  meter.addBatchObservableCallback(
    (r) => {
      if (delay.count > 0) for (const [g, read] of gauges) r.observe(g, read(delay) / 1e9)
      delay.reset()
    },
    gauges.map(([g]) => g),
  )
  meter
    .createObservableGauge('nodejs.eventloop.utilization', {
      description: 'Share of time the event loop was busy since the last scrape (0 to 1)',
    })
    .addCallback((r) => {
      const now = performance.eventLoopUtilization()
      r.observe(performance.eventLoopUtilization(now, lastElu).utilization)
      lastElu = now
    })
  meter
    .createObservableGauge('v8js.memory.heap.used', {
      description: 'V8 heap used, per heap space',
      unit: 'By',
    })
    .addCallback((r) => {
      for (const s of getHeapSpaceStatistics())
        r.observe(s.space_used_size, { 'v8js.heap.space.name': s.space_name })
    })
  meter
    .createObservableGauge('v8js.memory.heap.limit', { description: 'V8 heap size limit', unit: 'By' })
    .addCallback((r) => r.observe(getHeapStatistics().heap_size_limit))
  meter
    .createObservableGauge('process.memory.usage', { description: 'Resident set size', unit: 'By' })
    .addCallback((r) => r.observe(process.memoryUsage.rss()))
  const gc = meter.createHistogram('v8js.gc.duration', {
    description: 'Garbage collection pauses',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1] },
  })
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind ?? -1
      gc.record(e.duration / 1000, { 'v8js.gc.type': GC_TYPES[kind] ?? 'other' })
    }
  })
  observer.observe({ entryTypes: ['gc'] })
  return () => {
    observer.disconnect()
    delay.disable()
  }
}
