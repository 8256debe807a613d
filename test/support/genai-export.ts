import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base'
import type { GenAiSpan } from './call-set.js'

/** Wraps the real exporter to keep every export's result (the batch processor only logs failures). */
class RecordingExporter implements SpanExporter {
  readonly results: Array<{ spans: number; result: ExportResult }> = []
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      this.results.push({ spans: spans.length, result })
      done(result)
    })
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown()
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve()
  }
}

/** What the exporter reported: one entry per POST /v1/traces. */
export interface ExportReport {
  exports: number
  exportedSpans: number
  failed: Array<{ spans: number; error: string }>
}

/**
 * Records `spans` with the OpenTelemetry JS SDK (BasicTracerProvider, BatchSpanProcessor, the OTLP/HTTP
 * protobuf exporter) and exports them to `url`: `batch` spans per export request, each chunk flushed before
 * the next is recorded, as a steadily busy app would.
 */
export async function exportGenAiSpans(
  url: string,
  spans: readonly GenAiSpan[],
  batch = 512,
): Promise<ExportReport> {
  const exporter = new RecordingExporter(new OTLPTraceExporter({ url, timeoutMillis: 60_000 }))
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'three-paths-app', 'deployment.environment': 'test' }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxExportBatchSize: batch,
        maxQueueSize: batch * 2,
        scheduledDelayMillis: 50,
        exportTimeoutMillis: 60_000,
      }),
    ],
  })
  const tracer = provider.getTracer('gatewarden-three-paths', '1.0.0')
  try {
    for (let i = 0; i < spans.length; i += batch) {
      for (const s of spans.slice(i, i + batch)) {
        const span = tracer.startSpan(s.name, {
          kind: SpanKind.CLIENT,
          startTime: s.startMs,
          attributes: s.attributes,
        })
        if (s.error) span.setStatus({ code: SpanStatusCode.ERROR, message: s.error })
        span.end(s.endMs)
      }
      await provider.forceFlush()
    }
  } finally {
    await provider.shutdown()
  }
  return {
    exports: exporter.results.length,
    exportedSpans: exporter.results.reduce((a, r) => a + r.spans, 0),
    failed: exporter.results
      .filter((r) => r.result.code !== ExportResultCode.SUCCESS)
      .map((r) => ({ spans: r.spans, error: String(r.result.error) })),
  }
}
