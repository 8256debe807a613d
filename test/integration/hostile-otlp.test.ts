import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import protobuf from 'protobufjs'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import { REPO_ROOT } from '../support/paths.js'
import { assertClientError, deadLetterDiff, deepArray, gzipBomb, invalidUtf8 } from '../support/hostile.js'
import { rows, silentLog, testDataDir } from '../support/store.js'

/**
 * The hostile-input corpus of POST /v1/traces, OTLP/JSON and OTLP/protobuf: every case answers a 4xx with
 * a reason or a 200 (partial success naming the rejected spans, each a GW_DL_* dead letter); never a 5xx;
 * the valid spans next to the bad ones are stored.
 */
const LIMIT = 4 * 1024 * 1024
let gw: Running
let diff: () => Promise<string[]>
before(async () => {
  gw = await start(
    Config.parse({
      server: { port: 0, body_limit_bytes: LIMIT },
      store: { data_dir: testDataDir(), database: `hostile_otlp_${process.pid}` },
      writer: { max_batch_wait_ms: 5 },
    }),
    silentLog,
  )
  diff = deadLetterDiff(gw.store)
  await diff()
})
after(() => gw?.stop())

const NOW_NS = BigInt(Date.now() - 3_600_000) * 1_000_000n
type Attr = { key: string; value: Record<string, unknown> }
const kv = (key: string, v: string | number): Attr => ({
  key,
  value:
    typeof v === 'string'
      ? { stringValue: v }
      : Number.isInteger(v)
        ? { intValue: String(v) }
        : { doubleValue: v },
})
let traces = 0
let spans = 0
/** A fresh trace id per case: the stored events of a case are found by it. */
const newTrace = () => (++traces).toString(16).padStart(8, '0') + process.pid.toString(16).padStart(24, '0')
/** An LLM span (gen_ai semantic conventions) with usage and cost; `o` overrides fields, `attrs` adds attributes. */
function llmSpan(trace: string, o: Record<string, unknown> = {}, attrs: Attr[] = []) {
  return {
    traceId: trace,
    spanId: (++spans).toString(16).padStart(16, '0'),
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: String(NOW_NS),
    endTimeUnixNano: String(NOW_NS + 2_000_000n),
    attributes: [
      ...[
        kv('gen_ai.operation.name', 'chat'),
        kv('gen_ai.request.model', 'gpt-4o'),
        kv('gen_ai.usage.input_tokens', 10),
        kv('gen_ai.usage.output_tokens', 5),
        kv('gen_ai.usage.cost', 0.001),
      ].filter((b) => !attrs.some((a) => a.key === b.key)),
      ...attrs,
    ],
    status: {},
    ...o,
  }
}
const request = (list: unknown[]) => ({
  resourceSpans: [
    {
      resource: { attributes: [kv('service.name', 'hostile')] },
      scopeSpans: [{ scope: { name: 'h' }, spans: list }],
    },
  ],
})
const j = (v: unknown) => JSON.stringify(v)

const root = protobuf.Root.fromJSON(
  JSON.parse(
    readFileSync(join(REPO_ROOT, 'schemas/otlp-proto/trace-service.json'), 'utf8'),
  ) as protobuf.INamespace,
)
const Req = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest')
/** The same request as protobuf bytes (ids as bytes). */
function proto(json: unknown): Buffer {
  const withB64 = JSON.parse(JSON.stringify(json), (k, v: unknown) =>
    (k === 'traceId' || k === 'spanId') && typeof v === 'string'
      ? Buffer.from(v, 'hex').toString('base64')
      : v,
  ) as object
  return Buffer.from(Req.encode(Req.fromObject(withB64)).finish())
}

interface Case {
  name: string
  body: string | Buffer
  encoding: 'json' | 'protobuf'
  headers?: Record<string, string>
  /** A 4xx (and the code in a JSON body), or a 200 with these dead-letter codes and `stored` events of `trace`. */
  want: { status: number; code?: string } | { dead: string[]; stored: number; trace: string }
}
const cases: Case[] = []
const add = (c: Case) => cases.push(c)

add({
  name: 'JSON: truncated',
  encoding: 'json',
  body: j(request([llmSpan(newTrace())])).slice(0, 80),
  want: { status: 400 },
})
add({ name: 'JSON: invalid', encoding: 'json', body: '{resourceSpans: [}', want: { status: 400 } })
add({ name: 'JSON: empty body', encoding: 'json', body: '', want: { status: 400 } })
add({ name: 'JSON: 100k nested arrays', encoding: 'json', body: deepArray(100_000), want: { status: 400 } })
add({
  name: 'JSON: 100k nested arrays under resource_spans (snake_case path)',
  encoding: 'json',
  body: `{"resource_spans":${deepArray(100_000)}}`,
  want: { status: 400 },
})
{
  const t = newTrace()
  const deep = '{"arrayValue":{"values":['.repeat(20_000) + '{"stringValue":"x"}' + ']}}'.repeat(20_000)
  add({
    name: 'JSON: an attribute value nested 20k deep (refused whole: deeper than any OTLP request)',
    encoding: 'json',
    body: j(request([llmSpan(t), llmSpan(t, {}, [{ key: 'deep', value: { stringValue: 'DEEP' } }])])).replace(
      '{"stringValue":"DEEP"}',
      deep,
    ),
    want: { status: 400 },
  })
}
add({
  name: 'JSON: wrong type for resourceSpans',
  encoding: 'json',
  body: j({ resourceSpans: 'x' }),
  want: { status: 400 },
})
{
  const t = newTrace()
  add({
    name: 'JSON: wrong types in spans (start time, token count, span not an object)',
    encoding: 'json',
    body: j(
      request([
        llmSpan(t),
        llmSpan(t, { startTimeUnixNano: 'abc' }),
        llmSpan(t, {}, [kv('gen_ai.usage.input_tokens', 'lots')]),
        'span',
      ]),
    ),
    want: { dead: ['GW_DL_BAD_NUMBER', 'GW_DL_BAD_TIME', 'GW_DL_INVALID'], stored: 1, trace: t },
  })
}
{
  const t = newTrace()
  const many = Array.from({ length: 5_000 }, (_, i) => ({
    ...llmSpan(t),
    name: `GET /x/${i}`,
    attributes: [],
  }))
  add({
    name: 'JSON: huge strings (cut, kept) and 5,000 non-LLM spans (ignored)',
    encoding: 'json',
    body: j(
      request([
        llmSpan(t, {}, [kv('user.id', 'u'.repeat(200_000)), kv('gen_ai.request.model', 'm'.repeat(50_000))]),
        ...many,
      ]),
    ),
    want: { dead: [], stored: 1, trace: t },
  })
}
{
  const t = newTrace()
  add({
    name: 'JSON: NaN, Infinity and negative numbers',
    encoding: 'json',
    body: j(
      request([
        llmSpan(t),
        llmSpan(t, {}, [{ key: 'gen_ai.usage.cost', value: { doubleValue: 'NaN' } }]),
        llmSpan(t, {}, [{ key: 'gen_ai.usage.cost', value: { doubleValue: 'Infinity' } }]),
        llmSpan(t, {}, [kv('gen_ai.usage.cost', -1.5)]),
        llmSpan(t, {}, [kv('gen_ai.usage.input_tokens', -7)]),
      ]),
    ),
    want: {
      dead: ['GW_DL_BAD_NUMBER', 'GW_DL_BAD_NUMBER', 'GW_DL_BAD_NUMBER', 'GW_DL_BAD_NUMBER'],
      stored: 1,
      trace: t,
    },
  })
}
{
  const t = newTrace()
  const ms = NOW_NS / 1_000_000n
  add({
    name: 'JSON: start times in ms and us (not nanoseconds), in the future',
    encoding: 'json',
    body: j(
      request([
        llmSpan(t),
        llmSpan(t, { startTimeUnixNano: String(ms), endTimeUnixNano: String(ms + 2n) }),
        llmSpan(t, { startTimeUnixNano: String(ms * 1000n), endTimeUnixNano: String(ms * 1000n + 2n) }),
        llmSpan(t, {
          startTimeUnixNano: String(BigInt(Date.UTC(2099, 0, 1)) * 1_000_000n),
          endTimeUnixNano: '0',
        }),
      ]),
    ),
    want: { dead: ['GW_DL_BAD_TIME', 'GW_DL_BAD_TIME', 'GW_DL_FUTURE'], stored: 1, trace: t },
  })
}
{
  const t = newTrace()
  add({
    name: 'JSON: invalid UTF-8 bytes in an attribute (read as U+FFFD, kept)',
    encoding: 'json',
    body: invalidUtf8(j(request([llmSpan(t, {}, [kv('user.id', 'MARK-utf8')])])), 'MARK-utf8'),
    want: { dead: [], stored: 1, trace: t },
  })
}
{
  const t = newTrace()
  add({
    // as on the protobuf path: stored as UTF-8, the lone surrogate becomes U+FFFD and the span is kept
    name: 'JSON: a lone surrogate escape in an attribute: stored as U+FFFD, both spans kept',
    encoding: 'json',
    body: j(request([llmSpan(t), llmSpan(t, {}, [kv('gen_ai.request.model', 'gpt\uD800')])])),
    want: { dead: [], stored: 2, trace: t },
  })
}
{
  const t = newTrace()
  const s = llmSpan(t)
  add({
    name: 'JSON: the same span three times (duplicate ids): stored once',
    encoding: 'json',
    body: j(request([s, s, s])),
    want: { dead: [], stored: 1, trace: t },
  })
}
{
  const t = newTrace()
  add({
    name: 'JSON: missing and invalid ids',
    encoding: 'json',
    body: j(request([llmSpan(t), llmSpan(t, { traceId: 'zz' }), llmSpan(t, { spanId: '' })])),
    want: { dead: ['GW_DL_NO_ID', 'GW_DL_NO_ID'], stored: 1, trace: t },
  })
}
add({
  name: 'protobuf: garbage bytes',
  encoding: 'protobuf',
  body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x00, 0x80, 0x01]),
  want: { status: 400 },
})
add({
  name: 'protobuf: a valid request cut in half',
  encoding: 'protobuf',
  body: ((b: Buffer) => b.subarray(0, b.length >> 1))(
    proto(request([llmSpan(newTrace()), llmSpan(newTrace())])),
  ),
  want: { status: 400 },
})
add({
  name: 'protobuf: JSON text sent as protobuf',
  encoding: 'protobuf',
  body: j(request([])),
  want: { status: 400 },
})
{
  const t = newTrace()
  add({
    // UTF-8 on the wire cannot carry a lone surrogate: the encoder writes U+FFFD, and the span is kept
    name: 'protobuf: a bad-token span and a lone surrogate next to a valid span',
    encoding: 'protobuf',
    body: proto(
      request([
        llmSpan(t),
        llmSpan(t, {}, [kv('gen_ai.usage.input_tokens', 'lots')]),
        llmSpan(t, {}, [kv('user.id', 'x\uD800')]),
      ]),
    ),
    want: { dead: ['GW_DL_BAD_NUMBER'], stored: 2, trace: t },
  })
}
add({
  name: 'protobuf: gzip bomb (64 MiB of zeros)',
  encoding: 'protobuf',
  body: gzipBomb(64),
  headers: { 'content-encoding': 'gzip' },
  want: { status: 413 },
})
add({
  name: 'JSON: gzip bomb',
  encoding: 'json',
  body: gzipBomb(64),
  headers: { 'content-encoding': 'gzip' },
  want: { status: 413, code: 'GW_BODY_TOO_LARGE' },
})
add({
  name: 'JSON: corrupt gzip',
  encoding: 'json',
  body: gzipSync(j(request([]))).subarray(0, 12),
  headers: { 'content-encoding': 'gzip' },
  want: { status: 400 },
})
add({
  name: 'protobuf: body over the limit',
  encoding: 'protobuf',
  body: Buffer.alloc(LIMIT + 1, 0x0a),
  want: { status: 413 },
})
add({
  name: 'unsupported content type',
  encoding: 'json',
  headers: { 'content-type': 'text/plain' },
  body: j(request([])),
  want: { status: 415 },
})

const storedIn = async (trace: string) =>
  Number(
    (
      await rows<{ n: string }>(
        gw.store,
        `SELECT toString(count()) n FROM {{db}}.requests WHERE trace_id = '${trace}'`,
      )
    )[0]?.n,
  )

for (const c of cases) {
  test(`hostile otlp: ${c.name}`, async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: {
        'content-type': c.encoding === 'json' ? 'application/json' : 'application/x-protobuf',
        ...c.headers,
      },
      payload: c.body,
    })
    assert.ok(res.statusCode < 500, `5xx ${res.statusCode}: ${res.body.slice(0, 300)}`)
    if ('status' in c.want) {
      assert.equal(res.statusCode, c.want.status, res.body.slice(0, 300))
      assertClientError(res.statusCode, res.body, c.want.code)
      assert.ok(res.rawPayload.length > 0, 'the refusal says why')
      assert.deepEqual(await diff(), [], 'a refused body leaves no dead letter')
      return
    }
    assert.equal(res.statusCode, 200, res.body.slice(0, 300))
    if (c.encoding === 'json') {
      const partial = res.json<{ partialSuccess?: { rejectedSpans: string } }>().partialSuccess
      assert.equal(Number(partial?.rejectedSpans ?? 0), c.want.dead.length, res.body)
    }
    assert.deepEqual(await diff(), [...c.want.dead].sort())
    assert.equal(await storedIn(c.want.trace), c.want.stored, 'the valid spans are stored')
  })
}

test('after the corpus the service still answers and stores', async () => {
  const t = newTrace()
  const res = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: { 'content-type': 'application/x-protobuf' },
    payload: proto(request([llmSpan(t)])),
  })
  assert.equal(res.statusCode, 200)
  assert.equal(await storedIn(t), 1)
})
