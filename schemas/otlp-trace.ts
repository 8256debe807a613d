import { z } from 'zod'

/**
 * OTLP trace export request in its JSON shape: OTLP/JSON bodies as sent, and protobuf bodies once
 * decoded (`adapters/otlp/trace-proto.ts` gives the same keys). Deliberately lenient where the two
 * encodings differ: ids are hex (JSON) or base64 (protobuf), 64-bit integers are strings, numbers
 * or Long-like `{ low, high }`, enums are integers or their names. Unknown fields are dropped.
 */

/** A 64-bit integer as JSON or a protobuf decoder may give it. */
export const Int64 = z.union([
  z.string(),
  z.number(),
  z.bigint(),
  z.object({ low: z.number(), high: z.number(), unsigned: z.boolean().optional() }),
])
export type Int64 = z.infer<typeof Int64>

/** An id: hex (OTLP/JSON), base64 (protobuf decoded to strings) or raw bytes. */
export const OtlpId = z.union([z.string(), z.instanceof(Uint8Array)])

/** Properties of an attribute value: exactly one of them is set. */
export interface AnyValue {
  stringValue?: string | null
  boolValue?: boolean | null
  intValue?: Int64 | null
  doubleValue?: number | string | null
  arrayValue?: { values?: AnyValue[] | null } | null
  kvlistValue?: { values?: KeyValue[] | null } | null
  bytesValue?: string | Uint8Array | null
}
/** One attribute. */
export interface KeyValue {
  key: string
  value?: AnyValue | null
}

export const AnyValue: z.ZodType<AnyValue> = z.lazy(() =>
  z.object({
    stringValue: z.string().nullish(),
    boolValue: z.boolean().nullish(),
    intValue: Int64.nullish(),
    doubleValue: z.union([z.number(), z.string()]).nullish(),
    arrayValue: z.object({ values: z.array(AnyValue).nullish() }).nullish(),
    kvlistValue: z.object({ values: z.array(KeyValue).nullish() }).nullish(),
    bytesValue: z.union([z.string(), z.instanceof(Uint8Array)]).nullish(),
  }),
)
export const KeyValue: z.ZodType<KeyValue> = z.lazy(() =>
  z.object({ key: z.string(), value: AnyValue.nullish() }),
)

const Attributes = z.array(KeyValue).nullish()

/** An event inside a span (`exception` events carry `exception.type`). */
export const SpanEvent = z.object({
  timeUnixNano: Int64.nullish(),
  name: z.string().nullish(),
  attributes: Attributes,
})

/** One span. Fields Gatewarden does not read (links, dropped counts, trace state) are not validated. */
export const OtlpSpan = z.object({
  traceId: OtlpId.nullish(),
  spanId: OtlpId.nullish(),
  parentSpanId: OtlpId.nullish(),
  name: z.string().nullish(),
  kind: z.union([z.number(), z.string()]).nullish(),
  startTimeUnixNano: Int64.nullish(),
  endTimeUnixNano: Int64.nullish(),
  attributes: Attributes,
  events: z.array(SpanEvent).nullish(),
  status: z
    .object({ code: z.union([z.number(), z.string()]).nullish(), message: z.string().nullish() })
    .nullish(),
})
export type OtlpSpan = z.infer<typeof OtlpSpan>

/** Spans of one instrumentation scope; each span is validated on its own so one bad span rejects only itself. */
export const OtlpScopeSpans = z.object({
  scope: z.object({ name: z.string().nullish(), version: z.string().nullish() }).nullish(),
  spans: z.array(z.unknown()).nullish(),
})

/** Spans of one resource (a service instance). */
export const OtlpResourceSpans = z.object({
  resource: z.object({ attributes: Attributes }).nullish(),
  scopeSpans: z.array(OtlpScopeSpans).nullish(),
})

/** `ExportTraceServiceRequest` (opentelemetry/proto/collector/trace/v1/trace_service.proto). */
export const OtlpTraceRequest = z.object({ resourceSpans: z.array(OtlpResourceSpans).nullish() })
export type OtlpTraceRequest = z.infer<typeof OtlpTraceRequest>
