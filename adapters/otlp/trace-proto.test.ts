import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import protobuf from 'protobufjs'
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { Config } from '../../schemas/config.js'
import { mapOtlpTraces, type OtlpMapperOptions } from '../../core/ingest/otlp/mapper.js'
import { buildPriceTable } from '../../core/pricing.js'
import { REPO_ROOT } from '../../test/support/paths.js'
import { decodeTraceRequest, encodeStatus, encodeTraceResponse } from './trace-proto.js'

const PROTO_DIR = join(REPO_ROOT, 'schemas/otlp-proto')
const FIXTURES = join(REPO_ROOT, 'test/fixtures/otlp')
const config = Config.parse({})
const opts: OtlpMapperOptions = {
  source: 'otlp',
  gateway: 'g',
  attribution: config.attribution.otel,
  privacy: config.privacy,
  prices: buildPriceTable({ 'gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10 } }, {}),
}
const eventsOf = (body: unknown) => {
  const r = mapOtlpTraces(body, opts)
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return r.spans.flatMap((s) => (s.kind === 'event' ? [s.event] : []))
}

test('the descriptor is what protobufjs compiles from the vendored opentelemetry-proto files (run scripts/otlp/gen-descriptor.mjs)', () => {
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target)
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false })
  root.resolveAll()
  const shipped = JSON.parse(readFileSync(join(PROTO_DIR, 'trace-service.json'), 'utf8')) as unknown
  assert.deepEqual(shipped, JSON.parse(JSON.stringify(root.toJSON({ keepComments: false }))))
})

test('real LiteLLM protobuf bodies decode to the same events as their OTLP/JSON form', () => {
  const bins = readdirSync(FIXTURES).filter((f) => f.endsWith('.bin'))
  assert.ok(bins.length >= 10, `found ${bins.length} .bin fixtures`)
  const scenarios = new Set(bins.map((f) => f.replace(/-\d+\.bin$/, '')))
  for (const s of scenarios) {
    const fromBin = bins
      .filter((f) => f.replace(/-\d+\.bin$/, '') === s)
      .flatMap((f) => {
        const d = decodeTraceRequest(readFileSync(join(FIXTURES, f)))
        assert.ok(d.ok, `${f}: ${d.ok ? '' : d.reason}`)
        return eventsOf(d.request)
      })
    const fromJson = eventsOf(JSON.parse(readFileSync(join(FIXTURES, `${s}.json`), 'utf8')))
    assert.deepEqual(fromBin, fromJson, s)
  }
})

test('bodies serialized by the OpenTelemetry JS SDK (protobuf and JSON) map alike', async () => {
  const memory = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'unit' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  })
  const span = provider.getTracer('t').startSpan('chat gpt-4o', {
    attributes: {
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 100,
      'user.id': 'acme',
    },
  })
  span.end()
  await provider.forceFlush()
  const spans = memory.getFinishedSpans()
  const proto = decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(spans)!)
  assert.ok(proto.ok)
  const json = JSON.parse(
    Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString('utf8'),
  ) as unknown
  const [a] = eventsOf(proto.request)
  assert.deepEqual(eventsOf(json), [a])
  assert.equal(a!.event_id, span.spanContext().traceId + span.spanContext().spanId)
  assert.equal(a!.customer, 'acme')
  assert.equal(a!.cost_usd, (1000 * 2.5 + 100 * 10) / 1e6)
  await provider.shutdown()
})

test('undecodable bytes are a failure with a reason, never an exception', () => {
  for (const bytes of [
    Buffer.from('this is not protobuf'),
    Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    Buffer.from([0xff]),
  ]) {
    const d = decodeTraceRequest(bytes)
    assert.equal(d.ok, false)
    assert.match((d as { reason: string }).reason, /not a protobuf ExportTraceServiceRequest/)
  }
  assert.deepEqual(decodeTraceRequest(new Uint8Array()), { ok: true, request: {} })
})

test('responses: empty on full success, partial_success readable by the SDK; Status bodies decode', () => {
  assert.equal(encodeTraceResponse({ rejectedSpans: 0, errorMessage: '' }).length, 0)
  const partial = ProtobufTraceSerializer.deserializeResponse(
    encodeTraceResponse({ rejectedSpans: 2, errorMessage: '2 spans rejected' }),
  )
  assert.equal(Number(partial.partialSuccess?.rejectedSpans), 2)
  assert.equal(partial.partialSuccess?.errorMessage, '2 spans rejected')
  const Status = new protobuf.Type('Status')
    .add(new protobuf.Field('code', 1, 'int32'))
    .add(new protobuf.Field('message', 2, 'string'))
  new protobuf.Root().add(Status)
  assert.deepEqual(Status.toObject(Status.decode(encodeStatus(3, 'bad body'))), {
    code: 3,
    message: 'bad body',
  })
})
