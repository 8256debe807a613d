import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import { rows, silentLog, testDataDir } from '../support/store.js'

// The OpenTelemetry JS SDK's own OTLP exporters (protobuf and JSON, gzip on and off) sending GenAI
// spans to a Gatewarden started in-process on a real socket; the store must hold exactly what was sent.

const running: Running[] = []
const servers: Server[] = []
after(async () => {
  for (const s of servers) s.close()
  for (const r of running) await r.stop()
})

let n = 0
async function gatewarden(server: Record<string, unknown> = {}): Promise<{ gw: Running; url: string }> {
  const cfg = Config.parse({
    server: { port: 0, ...server },
    store: { data_dir: testDataDir(), database: `otlp_sdk_${process.pid}_${++n}` },
    writer: { max_batch_wait_ms: 5 },
  })
  const gw = await start(cfg, silentLog)
  running.push(gw)
  return { gw, url: `http://127.0.0.1:${gw.address.port}/v1/traces` }
}

/** Emits spans through `processor`, then flushes and shuts the provider down. */
async function emit(
  processor: SpanProcessor,
  spans: Array<{ name: string; attrs: Record<string, string | number> }>,
): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'sdk-it', 'deployment.environment': 'test' }),
    spanProcessors: [processor],
  })
  const tracer = provider.getTracer('gatewarden-it')
  for (const s of spans) tracer.startSpan(s.name, { attributes: s.attrs }).end()
  await provider.forceFlush()
  await provider.shutdown()
}

/** Finished spans, recorded in memory, to hand to an exporter directly (so the export result can be read). */
async function recorded(attrs: Array<Record<string, string | number>>): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] })
  for (const a of attrs) provider.getTracer('gatewarden-it').startSpan('chat', { attributes: a }).end()
  await provider.forceFlush()
  const spans = memory.getFinishedSpans() // before shutdown, which clears the memory exporter
  await provider.shutdown()
  return spans
}

const exportOnce = (exporter: SpanExporter, spans: ReadableSpan[]) =>
  new Promise<ExportResult>((resolve) => exporter.export(spans, resolve))

const chat = (
  customer: string,
  input: number,
  output: number,
  extra: Record<string, string | number> = {},
) => ({
  name: 'chat gpt-4o',
  attrs: {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': input,
    'gen_ai.usage.output_tokens': output,
    'user.id': customer,
    ...extra,
  },
})
// gpt-4o in schemas/model-prices.json: $2.50 / $10.00 per million input / output tokens
const gpt4o = (input: number, output: number) => (input * 2.5 + output * 10) / 1e6

async function costByCustomer(
  gw: Running,
  token?: string,
): Promise<Record<string, { requests: number; cost_usd: number; input_tokens: number }>> {
  const from = new Date(Date.now() - 86_400_000).toISOString()
  const to = new Date(Date.now() + 86_400_000).toISOString()
  const headers = token ? { authorization: `Bearer ${token}` } : {}
  const res = await gw.app.inject({
    method: 'GET',
    url: `/api/cost?group_by=customer&from=${from}&to=${to}`,
    headers,
  })
  assert.equal(res.statusCode, 200, res.body)
  const out = res.json<{
    rows: Array<{ customer: string; requests: number; cost_usd: number; input_tokens: number }>
  }>().rows
  return Object.fromEntries(out.map(({ customer, ...r }) => [customer, r]))
}

test('protobuf and JSON exporters: per-customer cost and counts in the store match what was sent', async () => {
  const { gw, url } = await gatewarden()
  const proto = Array.from({ length: 30 }, (_, i) => chat(i % 3 === 0 ? 'globex' : 'acme', 1000 + i, 100 + i))
  const json = Array.from({ length: 20 }, () => chat('initech', 500, 50, { 'gen_ai.cost.total_cost': 0.01 }))
  await emit(new SimpleSpanProcessor(new ProtoExporter({ url })), proto)
  await emit(
    new BatchSpanProcessor(new JsonExporter({ url }), { maxExportBatchSize: 7, scheduledDelayMillis: 10 }),
    json,
  )

  const expected: Record<string, { requests: number; cost: number; input: number }> = {}
  for (const s of proto) {
    const e = (expected[s.attrs['user.id']] ??= { requests: 0, cost: 0, input: 0 })
    e.requests++
    e.cost += gpt4o(s.attrs['gen_ai.usage.input_tokens'], s.attrs['gen_ai.usage.output_tokens'])
    e.input += s.attrs['gen_ai.usage.input_tokens']
  }
  expected.initech = { requests: 20, cost: 0.2, input: 20 * 500 }
  const got = await costByCustomer(gw)
  assert.deepEqual(Object.keys(got).sort(), ['acme', 'globex', 'initech'])
  for (const [c, e] of Object.entries(expected)) {
    assert.equal(got[c]!.requests, e.requests, c)
    assert.equal(got[c]!.input_tokens, e.input, c)
    assert.ok(Math.abs(got[c]!.cost_usd - e.cost) < 1e-9, `${c}: ${got[c]!.cost_usd} vs ${e.cost}`)
  }
  const meta = await rows<{ svc: string; src: string; n: number }>(
    gw.store,
    "SELECT metadata['service.name'] svc, metadata['gw_cost_source'] src, toUInt32(count()) n FROM {{db}}.requests GROUP BY svc, src ORDER BY src",
  )
  assert.deepEqual(meta, [
    { svc: 'sdk-it', src: 'attribute:gen_ai.cost.total_cost', n: 20 },
    { svc: 'sdk-it', src: 'price_table:gpt-4o', n: 30 },
  ])
})

test('gzip: the exporters compress and Gatewarden decodes', async () => {
  const { gw, url } = await gatewarden()
  // a pass-through proxy in front of Gatewarden records each request's Content-Encoding
  const seen: string[] = []
  const target = new URL(url)
  const proxy = createServer((req, res) => {
    seen.push(`${req.headers['content-type']} ${req.headers['content-encoding'] ?? 'identity'}`)
    const up = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      },
    )
    req.pipe(up)
  })
  servers.push(proxy)
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const via = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1/traces`
  await emit(
    new SimpleSpanProcessor(new ProtoExporter({ url: via, compression: CompressionAlgorithm.GZIP })),
    [chat('acme', 1000, 0)],
  )
  await emit(
    new SimpleSpanProcessor(new JsonExporter({ url: via, compression: CompressionAlgorithm.GZIP })),
    [chat('acme', 2000, 0)],
  )
  assert.deepEqual(seen, ['application/x-protobuf gzip', 'application/json gzip'])
  const got = await costByCustomer(gw)
  assert.equal(got.acme!.requests, 2)
  assert.ok(Math.abs(got.acme!.cost_usd - gpt4o(3000, 0)) < 1e-12)
})

test('partial success reaches the exporter (diag warning); the good spans are stored', async () => {
  const { gw, url } = await gatewarden()
  const warnings: string[] = []
  const logger: DiagLogger = {
    warn: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
    error: () => {},
    info: () => {},
    debug: () => {},
    verbose: () => {},
  }
  diag.setLogger(logger, DiagLogLevel.WARN)
  try {
    const spans = await recorded([
      chat('acme', 10, 10).attrs,
      { ...chat('acme', 10, 10).attrs, 'gen_ai.usage.input_tokens': 'ten' },
    ])
    for (const exporter of [new ProtoExporter({ url }), new JsonExporter({ url })]) {
      const result = await exportOnce(exporter, spans)
      assert.equal(result.code, ExportResultCode.SUCCESS, String(result.error))
      await exporter.shutdown()
    }
  } finally {
    diag.disable()
  }
  const partial = warnings.filter((w) => w.includes('Partial Success'))
  assert.equal(partial.length, 2, warnings.join('\n'))
  assert.match(partial[0]!, /rejectedSpans/)
  assert.match(partial[0]!, /gen_ai\.usage\.input_tokens is not a token count/)
  const got = await costByCustomer(gw)
  assert.equal(got.acme!.requests, 1, 'the good span once (the second export is a duplicate)')
  const [dl] = await rows<{ n: number }>(
    gw.store,
    "SELECT toUInt32(count()) n FROM {{db}}.dead_letters WHERE source = 'otlp'",
  )
  assert.equal(dl!.n, 2)
})

test('auth: exports without the token fail (401), with it they are stored', async () => {
  const token = 'sdk-test-token-0123456789'
  const { gw, url } = await gatewarden({ auth_token: token })
  const spans = await recorded([chat('acme', 100, 10).attrs])
  assert.equal(spans.length, 1)
  const denied = await exportOnce(new ProtoExporter({ url }), spans)
  assert.equal(denied.code, ExportResultCode.FAILED)
  assert.equal((denied.error as { code?: number }).code, 401)
  const allowed = await exportOnce(
    new ProtoExporter({ url, headers: { authorization: `Bearer ${token}` } }),
    spans,
  )
  assert.equal(allowed.code, ExportResultCode.SUCCESS, String(allowed.error))
  const got = await costByCustomer(gw, token)
  assert.equal(got.acme!.requests, 1)
})
