import protobuf from 'protobufjs/light.js'
import descriptor from '../../schemas/otlp-proto/trace-service.json' with { type: 'json' }

/**
 * OTLP/HTTP protobuf bodies, decoded and encoded with the OpenTelemetry project's own message
 * definitions: the opentelemetry-proto files vendored in schemas/otlp-proto (tag v1.11.0), compiled
 * by protobufjs into trace-service.json (scripts/otlp/gen-descriptor.mjs). No hand-written wire code.
 */

const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace)
const Request = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest')
const Response = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse')

// google.rpc.Status, the body OTLP/HTTP asks for on 4xx/5xx answers to protobuf requests
// (https://github.com/googleapis/googleapis/blob/master/google/rpc/status.proto; `details` omitted).
const Status = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'))
new protobuf.Root().define('google.rpc').add(Status)

/** Why a body could not be decoded. */
export type DecodeResult = { ok: true; request: unknown } | { ok: false; reason: string }

/**
 * Decodes an `ExportTraceServiceRequest` to its JSON shape: camelCase keys, ids as base64 strings,
 * 64-bit integers as decimal strings, enums as numbers (core/ingest/otlp/mapper.ts normalises ids to hex).
 */
export function decodeTraceRequest(body: Uint8Array): DecodeResult {
  try {
    const msg = Request.decode(body)
    return {
      ok: true,
      request: Request.toObject(msg, { longs: String, bytes: String, enums: Number, defaults: false }),
    }
  } catch (err) {
    return {
      ok: false,
      reason: `body is not a protobuf ExportTraceServiceRequest: ${(err as Error).message}`,
    }
  }
}

/** What an export answer reports: spans rejected (dead-lettered) and why. Both zero/empty = full success. */
export interface PartialSuccess {
  rejectedSpans: number
  errorMessage: string
}

/** Encodes an `ExportTraceServiceResponse`; `partial_success` only when something was rejected or said. */
export function encodeTraceResponse(p: PartialSuccess): Uint8Array {
  const payload =
    p.rejectedSpans > 0 || p.errorMessage !== ''
      ? { partialSuccess: { rejectedSpans: p.rejectedSpans, errorMessage: p.errorMessage } }
      : {}
  return Response.encode(Response.fromObject(payload)).finish()
}

/** Encodes a `google.rpc.Status` error body. */
export function encodeStatus(code: number, message: string): Uint8Array {
  return Status.encode(Status.fromObject({ code, message })).finish()
}
