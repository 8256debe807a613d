import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import protobuf from 'protobufjs'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { Config } from '../../schemas/config.js'
import { GatewardenError } from '../../core/errors.js'
import { start, type Running } from '../../services/start.js'
import { REPO_ROOT } from '../support/paths.js'
import { rows, silentLog, testDataDir } from '../support/store.js'

// POST /v1/traces against a real Gatewarden (embedded store), driven with app.inject:
// real LiteLLM protobuf bodies, partial success, error answers, gzip, backpressure, auth.

const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop()
})

let n = 0
async function gatewarden(extra: Record<string, unknown> = {}): Promise<Running> {
  const cfg = Config.parse({
    server: { port: 0, ...(extra.server as object) },
    store: { data_dir: testDataDir(), database: `otlp_http_${process.pid}_${++n}` },
    writer: { max_batch_wait_ms: 5 },
    ...(extra.pricing ? { pricing: extra.pricing } : {}),
  })
  const r = await start(cfg, silentLog)
  running.push(r)
  return r
}

const FIXTURES = join(REPO_ROOT, 'test/fixtures/otlp')
const PROTO = { 'content-type': 'application/x-protobuf' }
const JSON_CT = { 'content-type': 'application/json' }
const Status = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'))
new protobuf.Root().add(Status)

const NOW_NS = BigInt(Date.now()) * 1_000_000n
const kv = (key: string, v: string | number) => ({
  key,
  value:
    typeof v === 'string'
      ? { stringValue: v }
      : Number.isInteger(v)
        ? { intValue: String(v) }
        : { doubleValue: v },
})
let sid = 0
function genAiSpan(attrs: Record<string, string | number>, name = 'chat gpt-4o') {
  return {
    traceId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    spanId: (++sid).toString(16).padStart(16, '0'),
    name,
    kind: 3,
    startTimeUnixNano: String(NOW_NS),
    endTimeUnixNano: String(NOW_NS + 2_000_000n),
    attributes: Object.entries(attrs).map(([k, v]) => kv(k, v)),
    status: {},
  }
}
const body = (spans: unknown[]) => ({
  resourceSpans: [
    { resource: { attributes: [kv('service.name', 'it')] }, scopeSpans: [{ scope: { name: 'it' }, spans }] },
  ],
})

/** The same request as protobuf bytes, encoded with the vendored OpenTelemetry definitions. */
function protoBytes(json: ReturnType<typeof body>): Buffer {
  const root = protobuf.Root.fromJSON(
    JSON.parse(
      readFileSync(join(REPO_ROOT, 'schemas/otlp-proto/trace-service.json'), 'utf8'),
    ) as protobuf.INamespace,
  )
  const Req = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest')
  const hexToB64 = (h: string) => Buffer.from(h, 'hex').toString('base64')
  const withB64 = JSON.parse(JSON.stringify(json), (k, v: unknown) =>
    (k === 'traceId' || k === 'spanId') && typeof v === 'string' ? hexToB64(v) : v,
  ) as object
  return Buffer.from(Req.encode(Req.fromObject(withB64)).finish())
}

test('real LiteLLM protobuf exports: one event per call, acked empty, JSON re-sends counted once', async () => {
  const gw = await gatewarden()
  const bins = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.bin'))
    .sort()
  for (const f of bins) {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: PROTO,
      payload: readFileSync(join(FIXTURES, f)),
    })
    assert.equal(res.statusCode, 200, `${f}: ${res.body}`)
    assert.equal(res.headers['content-type'], 'application/x-protobuf')
    assert.equal(res.rawPayload.length, 0, `${f}: full success is an empty ExportTraceServiceResponse`)
  }
  const calls = new Set(bins.map((f) => f.replace(/-\d+\.bin$/, ''))).size - 1 // the healthcheck trace has no LLM call
  const [count] = await rows<{ n: number; cost: number }>(
    gw.store,
    'SELECT count() n, toFloat64(sum(cost_usd)) cost FROM {{db}}.requests',
  )
  assert.equal(count!.n, calls)

  // the merged OTLP/JSON form of the same traces: same event ids, nothing new
  for (const f of readdirSync(FIXTURES).filter((x) => x.endsWith('.json'))) {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: JSON_CT,
      payload: readFileSync(join(FIXTURES, f)),
    })
    assert.equal(res.statusCode, 200, f)
    assert.deepEqual(res.json(), {}, f)
  }
  const [again] = await rows<{ n: number; cost: number }>(
    gw.store,
    'SELECT count() n, toFloat64(sum(cost_usd)) cost FROM {{db}}.requests',
  )
  assert.deepEqual(again, count)

  const from = new Date(Date.UTC(2000, 0, 1)).toISOString()
  const to = new Date(Date.UTC(2099, 0, 1)).toISOString()
  const cost = await gw.app.inject({
    method: 'GET',
    url: `/api/cost?group_by=customer&from=${from}&to=${to}`,
  })
  const byCustomer = Object.fromEntries(
    cost
      .json<{ rows: Array<{ customer: string; requests: number }> }>()
      .rows.map((r) => [r.customer, r.requests]),
  )
  assert.equal(byCustomer.acme, 6, JSON.stringify(byCustomer))
  assert.equal(byCustomer.initech, 1)
  assert.equal(byCustomer['globex-user-7'], 1)
})

test('LiteLLM with both callbacks (generic_api and otel) pointed at Gatewarden: calls deduplicated by litellm.call_id', async () => {
  const gw = await gatewarden()
  const captured = join(REPO_ROOT, 'test/fixtures/litellm/captured')
  const scenarios = readdirSync(captured)
    .filter((f) => f.startsWith('generic-api-'))
    .map((f) => f.slice('generic-api-'.length, -'.json'.length))
  for (const s of scenarios) {
    const generic = await gw.app.inject({
      method: 'POST',
      url: '/ingest/litellm',
      headers: JSON_CT,
      payload: readFileSync(join(captured, `generic-api-${s}.json`)),
    })
    assert.equal(generic.statusCode, 200, s)
    for (const f of readdirSync(FIXTURES).filter(
      (x) => x.startsWith(`litellm-otel-${s}-`) && x.endsWith('.bin'),
    )) {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/traces',
        headers: PROTO,
        payload: readFileSync(join(FIXTURES, f)),
      })
      assert.equal(res.statusCode, 200, f)
    }
  }
  const perSource = await rows<{ source: string; n: number; ids: string[] }>(
    gw.store,
    'SELECT source, toUInt32(count()) n, groupArray(event_id) ids FROM {{db}}.requests GROUP BY source ORDER BY source',
  )
  assert.equal(perSource[0]!.source, 'litellm_http')
  assert.equal(perSource[0]!.n, scenarios.length)
  // Every call is deduplicated across the two callbacks, including the auth failure whose span
  // (fastapi.dependencies) starts 2 ms before the payload's startTime: the writer's id lookup
  // reaches DEDUPE_MARGIN_MS around the batch's time range.
  assert.equal(perSource.length, 1, JSON.stringify(perSource.slice(1)))
})

test('partial success: bad LLM spans dead-lettered and reported, in protobuf and in JSON', async () => {
  const gw = await gatewarden()
  const spans = [
    genAiSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'user.id': 'acme' }),
    genAiSpan({ 'http.route': '/x' }, 'GET /x'), // not an LLM call: ignored, not rejected
    genAiSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.cost.total_cost': -1, 'user.id': 'acme' }),
  ]
  const res = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: PROTO,
    payload: protoBytes(body(spans)),
  })
  assert.equal(res.statusCode, 200)
  const decoded = ProtobufTraceSerializer.deserializeResponse(res.rawPayload)
  assert.equal(Number(decoded.partialSuccess?.rejectedSpans), 1)
  assert.match(
    decoded.partialSuccess?.errorMessage ?? '',
    /1 span rejected .*span 2: gen_ai\.cost\.total_cost is negative/,
  )

  const json = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: JSON_CT,
    payload: JSON.stringify(
      body([
        genAiSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.output_tokens': 'many' }),
        genAiSpan({ 'gen_ai.request.model': 'gpt-4o' }),
      ]),
    ),
  })
  assert.equal(json.statusCode, 200)
  const partial = json.json<{ partialSuccess: { rejectedSpans: string; errorMessage: string } }>()
    .partialSuccess
  assert.equal(partial.rejectedSpans, '1')
  assert.match(partial.errorMessage, /gen_ai\.usage\.output_tokens is not a token count/)

  const dl = await rows<{ source: string; origin: string; reason: string; raw: string }>(
    gw.store,
    'SELECT source, origin, reason, raw FROM {{db}}.dead_letters ORDER BY received_at, origin',
  )
  assert.equal(dl.length, 2)
  assert.deepEqual(
    dl.map((d) => d.source),
    ['otlp', 'otlp'],
  )
  assert.match(dl[0]!.origin, /^POST \/v1\/traces .* resource 0 scope 0 span 2$/)
  assert.ok(dl[0]!.raw.includes('gen_ai.cost.total_cost'), 'the span is kept as raw input')
  const [stored] = await rows<{ n: number }>(gw.store, 'SELECT count() n FROM {{db}}.requests')
  assert.equal(stored!.n, 2)
})

test('undecodable bodies: 400 with a google.rpc.Status (protobuf) or its JSON form; 415 for other types', async () => {
  const gw = await gatewarden()
  const bad = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: PROTO,
    payload: Buffer.from('definitely not protobuf'),
  })
  assert.equal(bad.statusCode, 400)
  assert.equal(bad.headers['content-type'], 'application/x-protobuf')
  const status = Status.toObject(Status.decode(bad.rawPayload)) as { code: number; message: string }
  assert.equal(status.code, 3)
  assert.match(status.message, /not a protobuf ExportTraceServiceRequest/)

  const badJson = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: JSON_CT,
    payload: '{"resourceSpans": [',
  })
  assert.equal(badJson.statusCode, 400)
  assert.match(badJson.json<{ message: string }>().message, /not valid JSON/)
  assert.equal(badJson.json<{ error: { code: string } }>().error.code, 'GW_BAD_REQUEST')

  const wrongShape = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: JSON_CT,
    payload: '{"resourceSpans": 5}',
  })
  assert.equal(wrongShape.statusCode, 400)
  assert.match(wrongShape.json<{ message: string }>().message, /not an ExportTraceServiceRequest/)

  const text = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: { 'content-type': 'text/plain' },
    payload: 'hi',
  })
  assert.equal(text.statusCode, 415)
  assert.equal(text.json<{ error: { code: string } }>().error.code, 'GW_UNSUPPORTED_MEDIA_TYPE')

  const badGzip = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: { ...PROTO, 'content-encoding': 'gzip' },
    payload: Buffer.from('not gzip'),
  })
  assert.equal(badGzip.statusCode, 400)
  const [stored] = await rows<{ n: number }>(gw.store, 'SELECT count() n FROM {{db}}.requests')
  assert.equal(stored!.n, 0)
})

test('gzip bodies; price table fallback with a configured override', async () => {
  const gw = await gatewarden({
    pricing: { overrides: { 'in-house-llm': { input_per_mtok: 1, output_per_mtok: 2 } } },
  })
  const spans = [
    genAiSpan({
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 1_000_000,
      'gen_ai.usage.output_tokens': 100_000,
      'user.id': 'acme',
    }),
    genAiSpan({
      'gen_ai.request.model': 'in-house-llm',
      'gen_ai.usage.input_tokens': 1_000_000,
      'gen_ai.usage.output_tokens': 1_000_000,
      'user.id': 'acme',
    }),
  ]
  const res = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: { ...PROTO, 'content-encoding': 'gzip' },
    payload: gzipSync(protoBytes(body(spans))),
  })
  assert.equal(res.statusCode, 200)
  const r = await rows<{ model: string; cost: number; src: string }>(
    gw.store,
    "SELECT model, toFloat64(cost_usd) cost, metadata['gw_cost_source'] src FROM {{db}}.requests ORDER BY model",
  )
  assert.deepEqual(r, [
    { model: 'gpt-4o', cost: 2.5 + 1, src: 'price_table:gpt-4o' },
    { model: 'in-house-llm', cost: 3, src: 'pricing_override:in-house-llm' },
  ])
})

test('a saturated writer answers 503 with Retry-After; nothing is acked', async () => {
  const gw = await gatewarden()
  gw.writer.submit = () => Promise.reject(new GatewardenError('GW_BACKPRESSURE', 'store is behind', true))
  const res = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: JSON_CT,
    payload: JSON.stringify(body([genAiSpan({ 'gen_ai.request.model': 'gpt-4o' })])),
  })
  assert.equal(res.statusCode, 503)
  assert.equal(res.headers['retry-after'], '1')
})

test('with a token, /v1/traces needs the bearer', async () => {
  const token = 'otlp-test-token-0123456789'
  const gw = await gatewarden({ server: { auth_token: token } })
  const payload = JSON.stringify(body([genAiSpan({ 'gen_ai.request.model': 'gpt-4o' })]))
  const no = await gw.app.inject({ method: 'POST', url: '/v1/traces', headers: JSON_CT, payload })
  assert.equal(no.statusCode, 401)
  const yes = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: { ...JSON_CT, authorization: `Bearer ${token}` },
    payload,
  })
  assert.equal(yes.statusCode, 200)
})
