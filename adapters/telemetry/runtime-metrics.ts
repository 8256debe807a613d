import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node'
import type { MeterProvider } from '@opentelemetry/api'

/**
 * The Node runtime's own metrics through `@opentelemetry/instrumentation-runtime-node`, on the given meter
 * provider (the one the Prometheus exporter reads; not the global one): event-loop delay
 * (`nodejs.eventloop.delay.{min,max,mean,stddev,p50,p90,p99}`, since the previous scrape, once the loop has
 * 5 samples), `nodejs.eventloop.utilization` and `nodejs.eventloop.time{nodejs.eventloop.state}`,
 * `v8js.gc.duration{v8js.gc.type}`, `v8js.memory.heap.used` and `v8js.memory.heap.space.{size,
 * available_size,physical_size}` per `v8js.heap.space.name`, `v8js.resource.active{v8js.resource.type}`.
 * Returns the stop function (the collectors' monitor and GC observer off).
 */
export function registerRuntimeMetrics(provider: MeterProvider): () => void {
  // enabled at construction (collectors start); the meter is taken from `provider` instead of the global API
  const runtime = new RuntimeNodeInstrumentation({ monitoringPrecision: 10 })
  runtime.setMeterProvider(provider)
  return () => runtime.disable()
}
