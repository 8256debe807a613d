import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Config } from '../../../schemas/config.js'
import type { RequestEvent } from '../../../schemas/request-event.js'
import type { StandardLoggingPayload } from '../../../schemas/litellm-payload.js'
import { REPO_ROOT, fixture } from '../../../test/support/paths.js'
import { mapLiteLLMPayload } from '../litellm/mapper.js'
import { mapOtlpToResults, mapOtlpTraces, type OtlpMapperOptions, type SpanOutcome } from './mapper.js'
import { buildPriceTable } from '../../pricing.js'
import { LABEL_MAX_CHARS, TRUNCATION_MARKER } from '../labels.js'

const config = Config.parse({})
const prices = buildPriceTable(
  {
    'gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10, cached_input_per_mtok: 1.25 },
    'gpt-4o-2024-08-06': { input_per_mtok: 2.5, output_per_mtok: 10, cached_input_per_mtok: 1.25 },
    'claude-sonnet-4-5': { input_per_mtok: 3, output_per_mtok: 15 },
  },
  {},
)
const opts: OtlpMapperOptions = {
  source: 'otlp',
  gateway: 'test-gw',
  attribution: config.attribution.otel,
  privacy: config.privacy,
  prices,
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const START_NS = 1_795_684_957_386_721_000n // 2026-11-26T...:37.386721Z
const START_MS = 1_795_684_957_387
let nextSpan = 0
const newSpanId = () => (++nextSpan).toString(16).padStart(16, 'a')

type Attr = string | number | boolean | string[]
const kv = (key: string, v: Attr) => ({
  key,
  value: Array.isArray(v)
    ? { arrayValue: { values: v.map((s) => ({ stringValue: s })) } }
    : typeof v === 'string'
      ? { stringValue: v }
      : typeof v === 'boolean'
        ? { boolValue: v }
        : Number.isInteger(v)
          ? { intValue: String(v) }
          : { doubleValue: v },
})

interface SpanOpts {
  name?: string
  traceId?: string
  spanId?: string
  parentSpanId?: string
  start?: string | number
  end?: string | number
  status?: number
  events?: unknown[]
}
function span(attrs: Record<string, Attr>, o: SpanOpts = {}) {
  return {
    traceId: o.traceId ?? TRACE,
    spanId: o.spanId ?? newSpanId(),
    ...(o.parentSpanId ? { parentSpanId: o.parentSpanId } : {}),
    name: o.name ?? 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: o.start ?? String(START_NS),
    endTimeUnixNano: o.end ?? String(START_NS + 1_250_000_000n),
    attributes: Object.entries(attrs).map(([k, v]) => kv(k, v)),
    ...(o.events ? { events: o.events } : {}),
    status: { code: o.status ?? 0 },
  }
}
const request = (spans: unknown[], resource: Record<string, Attr> = { 'service.name': 'checkout' }) => ({
  resourceSpans: [
    {
      resource: { attributes: Object.entries(resource).map(([k, v]) => kv(k, v)) },
      scopeSpans: [{ scope: { name: 'test' }, spans }],
    },
  ],
})

function outcomes(body: unknown, o: OtlpMapperOptions = opts): SpanOutcome[] {
  const r = mapOtlpTraces(body, o)
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return r.spans
}
function events(body: unknown, o: OtlpMapperOptions = opts): RequestEvent[] {
  return outcomes(body, o).flatMap((s) => (s.kind === 'event' ? [s.event] : []))
}
function only(body: unknown, o: OtlpMapperOptions = opts): RequestEvent {
  const all = outcomes(body, o)
  const evs = all.flatMap((s) => (s.kind === 'event' ? [s.event] : []))
  assert.equal(
    evs.length,
    1,
    JSON.stringify(all.map((s) => (s.kind === 'event' ? 'event' : `${s.kind}: ${s.reason}`))),
  )
  return evs[0]!
}

const conventions: Array<{
  name: string
  attrs: Record<string, Attr>
  want: Partial<RequestEvent>
  source?: string
}> = [
  {
    name: 'GenAI semantic conventions (current names)',
    attrs: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 500,
      'gen_ai.usage.cache_read.input_tokens': 200,
      'gen_ai.conversation.id': 'conv-1',
      'gen_ai.agent.name': 'planner',
      'user.id': 'acme',
    },
    want: {
      customer: 'acme',
      agent: 'planner',
      session_id: 'conv-1',
      provider: 'openai',
      call_type: 'chat',
      model_requested: 'gpt-4o',
      model: 'gpt-4o-2024-08-06',
      input_tokens: 1000,
      output_tokens: 500,
      cached_tokens: 200,
      cost_usd: (800 * 2.5 + 200 * 1.25 + 500 * 10) / 1e6,
    },
    source: 'price_table:gpt-4o-2024-08-06',
  },
  {
    name: 'GenAI older names (gen_ai.system, prompt/completion tokens), enduser.id, agent id',
    attrs: {
      'gen_ai.system': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5-20250929',
      'gen_ai.usage.prompt_tokens': 2000,
      'gen_ai.usage.completion_tokens': '100',
      'enduser.id': 'globex',
      'gen_ai.agent.id': 'agent-7',
    },
    want: {
      customer: 'globex',
      agent: 'agent-7',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5-20250929',
      input_tokens: 2000,
      output_tokens: 100,
      cost_usd: (2000 * 3 + 100 * 15) / 1e6,
    },
    source: 'price_table:claude-sonnet-4-5',
  },
  {
    name: 'OpenInference (llm.*, session.id, user.id, llm.cost.total)',
    attrs: {
      'openinference.span.kind': 'LLM',
      'llm.model_name': 'gpt-4o-mini',
      'llm.provider': 'openai',
      'llm.token_count.prompt': 300,
      'llm.token_count.completion': 40,
      'llm.token_count.total': 340,
      'llm.token_count.prompt_details.cache_read': 100,
      'llm.cost.total': 0.0123,
      'session.id': 'sess-9',
      'user.id': 'initech',
    },
    want: {
      customer: 'initech',
      session_id: 'sess-9',
      provider: 'openai',
      call_type: 'llm',
      model: 'gpt-4o-mini',
      input_tokens: 300,
      output_tokens: 40,
      cached_tokens: 100,
      cost_usd: 0.0123,
    },
    source: 'attribute:llm.cost.total',
  },
  {
    name: 'OpenInference cost split into prompt + completion',
    attrs: {
      'openinference.span.kind': 'LLM',
      'llm.model_name': 'x',
      'llm.cost.prompt': 0.25,
      'llm.cost.completion': 0.5,
    },
    want: { cost_usd: 0.75 },
    source: 'attribute:llm.cost.prompt+llm.cost.completion',
  },
  {
    name: 'OpenLLMetry (llm.request.type, llm.user, llm.usage.total_tokens)',
    attrs: {
      'llm.request.type': 'chat',
      'gen_ai.system': 'OpenAI',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.prompt_tokens': 10,
      'gen_ai.usage.completion_tokens': 20,
      'llm.usage.total_tokens': 30,
      'llm.user': 'hooli',
    },
    want: {
      customer: 'hooli',
      call_type: 'chat',
      provider: 'OpenAI',
      input_tokens: 10,
      output_tokens: 20,
      cost_usd: 0.000225,
    },
    source: 'price_table:gpt-4o',
  },
  {
    name: 'only a total token count: taken as input',
    attrs: {
      'llm.request.type': 'completion',
      'gen_ai.request.model': 'gpt-4o',
      'llm.usage.total_tokens': 1000,
    },
    want: { input_tokens: 1000, output_tokens: 0, cost_usd: 0.0025 },
    source: 'price_table:gpt-4o',
  },
  {
    name: 'vendor cost attribute wins over the price table (gen_ai.usage.cost)',
    attrs: {
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 1_000_000,
      'gen_ai.usage.cost': '0.5',
    },
    want: { cost_usd: 0.5 },
    source: 'attribute:gen_ai.usage.cost',
  },
  {
    name: 'LiteLLM cost breakdown (gen_ai.cost.total_cost), even when 0',
    attrs: {
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 1_000_000,
      'gen_ai.cost.total_cost': 0,
    },
    want: { cost_usd: 0 },
    source: 'attribute:gen_ai.cost.total_cost',
  },
  {
    name: 'unknown model and no cost: 0, marked unpriced',
    attrs: { 'gen_ai.request.model': 'in-house-llm', 'gen_ai.usage.input_tokens': 5000 },
    want: { cost_usd: 0, model: 'in-house-llm', input_tokens: 5000 },
    source: 'unpriced',
  },
]

test('maps each attribute convention', () => {
  for (const c of conventions) {
    const e = only(request([span(c.attrs)]))
    for (const [k, v] of Object.entries(c.want)) {
      if (k === 'cost_usd')
        assert.ok(
          Math.abs(e.cost_usd - (v as number)) < 1e-12,
          `${c.name}: cost ${e.cost_usd} != ${JSON.stringify(v)}`,
        )
      else assert.deepEqual(e[k as keyof RequestEvent], v, `${c.name}: ${k}`)
    }
    if (c.source) assert.equal(e.metadata.gw_cost_source, c.source, c.name)
    assert.equal(e.status, 'success', c.name)
    assert.equal(e.http_status, 200, c.name)
  }
})

test('a failed call with tokens but no cost attribute costs 0 (providers do not bill failures, LiteLLM reports 0)', () => {
  const e = only(
    request([
      span({
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1000,
        'error.type': 'RateLimitError',
      }),
    ]),
  )
  assert.equal(e.status, 'failure')
  assert.equal(e.input_tokens, 1000)
  assert.equal(e.cost_usd, 0)
  assert.equal(e.metadata.gw_cost_source, 'failed_call')
  const priced = only(
    request([
      span({
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1000,
        'error.type': 'Timeout',
        'gen_ai.usage.cost': 0.01,
      }),
    ]),
  )
  assert.equal(priced.cost_usd, 0.01, 'a failure the sender did bill keeps its cost')
})

test('identity and time: event_id = trace id + span id (hex), ms timestamps from unix nanos', () => {
  const e = only(request([span({ 'gen_ai.request.model': 'gpt-4o' }, { spanId: '00f067aa0ba902b7' })]))
  assert.equal(e.event_id, `${TRACE}00f067aa0ba902b7`)
  assert.equal(e.trace_id, TRACE)
  assert.equal(e.ts, START_MS)
  assert.equal(e.end_ts, START_MS + 1250)
  assert.equal(e.duration_ms, 1250)
  assert.equal(e.source, 'otlp')
  assert.equal(e.gateway, 'test-gw')
  // a number (JSON senders may send one) and an end before the start (clamped)
  const n = only(
    request([
      span(
        { 'gen_ai.request.model': 'gpt-4o' },
        { start: Number(START_NS), end: String(START_NS - 5_000_000n) },
      ),
    ]),
  )
  assert.equal(n.ts, START_MS)
  assert.equal(n.duration_ms, 0)
})

test('protobuf-decoded shape: base64 ids and snake_case keys are normalised', () => {
  const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64')
  const s = {
    ...span({ 'gen_ai.request.model': 'gpt-4o' }),
    traceId: b64(TRACE),
    spanId: b64('00f067aa0ba902b7'),
  }
  assert.equal(only(request([s])).event_id, `${TRACE}00f067aa0ba902b7`)
  const snake = {
    resource_spans: [
      {
        scope_spans: [
          {
            spans: [
              {
                trace_id: TRACE,
                span_id: '00f067aa0ba902b8',
                start_time_unix_nano: String(START_NS),
                attributes: [{ key: 'gen_ai.request.model', value: { string_value: 'gpt-4o' } }],
              },
            ],
          },
        ],
      },
    ],
  }
  assert.equal(only(snake).model, 'gpt-4o')
})

test('failures: status ERROR or error.type; error class without module path; HTTP status from attributes', () => {
  const e = only(
    request([
      span(
        {
          'gen_ai.request.model': 'gpt-4o',
          'error.type': 'openai.RateLimitError',
          'http.response.status_code': 429,
        },
        { status: 2 },
      ),
    ]),
  )
  assert.equal(e.status, 'failure')
  assert.equal(e.error_type, 'RateLimitError')
  assert.equal(e.http_status, 429)
  const ev = only(
    request([
      span(
        { 'gen_ai.request.model': 'gpt-4o' },
        {
          status: 2,
          events: [{ name: 'exception', attributes: [kv('exception.type', 'TimeoutError')] }],
        },
      ),
    ]),
  )
  assert.equal(ev.error_type, 'TimeoutError')
  assert.equal(ev.http_status, 0)
  const bare = only(request([span({ 'gen_ai.request.model': 'gpt-4o' }, { status: 2 })]))
  assert.equal(bare.error_type, 'unknown')
  assert.equal(
    only(request([span({ 'gen_ai.request.model': 'gpt-4o', 'error.type': '500' })])).error_type,
    '500',
  )
})

test('spans that are not LLM calls are ignored, not dead-lettered', () => {
  const notCalls = [
    span({ 'http.route': '/checkout', 'http.request.method': 'POST' }, { name: 'POST /checkout' }),
    span({ 'db.system': 'postgresql' }, { name: 'SELECT' }),
    span({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'planner',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 99,
    }),
    span({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' }),
    span({ 'openinference.span.kind': 'CHAIN', 'llm.model_name': 'gpt-4o' }),
    span({ 'traceloop.span.kind': 'workflow', 'gen_ai.system': 'openai' }),
    span({ 'gen_ai.system': '' }),
    span({ 'llm.openai.stringified_raw_response': 'raw' }, { name: 'raw_gen_ai_request' }),
  ]
  const all = outcomes(request(notCalls))
  assert.deepEqual(
    all.map((s) => s.kind),
    notCalls.map(() => 'ignored'),
  )
  assert.match((all[0] as { reason: string }).reason, /not an LLM call/)
  assert.deepEqual(mapOtlpToResults(request(notCalls), opts), [])
})

test('one call = one event: nested LLM spans count once, on the span with usage (else the innermost)', () => {
  // LiteLLM versions that copied the call attributes onto the proxy span and its litellm_request child
  const parent = span(
    { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, 'gen_ai.cost.total_cost': 1 },
    { name: 'Received Proxy Server Request' },
  )
  const child = span(
    { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, 'gen_ai.cost.total_cost': 1 },
    { name: 'litellm_request', parentSpanId: parent.spanId },
  )
  const both = outcomes(request([parent, child]))
  assert.deepEqual(
    both.map((s) => s.kind),
    ['ignored', 'event'],
  )
  assert.match((both[0] as { reason: string }).reason, new RegExp(`counted on span ${child.spanId}`))

  // usage only on the outer span: the outer one counts
  const outer = span({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10 })
  const inner = span({ 'gen_ai.system': 'openai' }, { parentSpanId: outer.spanId })
  assert.deepEqual(
    outcomes(request([inner, outer])).map((s) => s.kind),
    ['ignored', 'event'],
  )

  // neither carries usage (a failed call): the innermost counts
  const f1 = span({ 'gen_ai.request.model': 'gpt-4o' }, { status: 2 })
  const f2 = span({ 'gen_ai.request.model': 'gpt-4o' }, { status: 2, parentSpanId: f1.spanId })
  assert.deepEqual(
    outcomes(request([f1, f2])).map((s) => s.kind),
    ['ignored', 'event'],
  )

  // siblings under an agent span are separate calls
  const agent = span({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' })
  const c1 = span(
    { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1 },
    { parentSpanId: agent.spanId },
  )
  const c2 = span(
    { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 2 },
    { parentSpanId: agent.spanId },
  )
  const evs = events(request([agent, c1, c2]))
  assert.deepEqual(
    evs.map((e) => [e.input_tokens, e.agent]),
    [
      [1, 'planner'],
      [2, 'planner'],
    ],
  )
})

test('attribution: span, then ancestors (nearest first), then resource; configurable lists; span:name', () => {
  const root = span({ 'user.id': 'from-root', 'http.route': '/api/search' }, { name: 'POST /api/search' })
  const mid = span({ 'session.id': 's-mid' }, { parentSpanId: root.spanId, name: 'handler' })
  const call = span({ 'gen_ai.request.model': 'gpt-4o' }, { parentSpanId: mid.spanId })
  const e = only(request([root, mid, call], { 'service.name': 'search-api', 'enduser.id': 'from-resource' }))
  assert.equal(e.customer, 'from-root')
  assert.equal(e.session_id, 's-mid')
  assert.equal(e.endpoint, '/api/search')
  assert.equal(e.user, 'from-root')

  const lone = span({ 'gen_ai.request.model': 'gpt-4o' }, { name: 'chat gpt-4o' })
  const r = only(request([lone], { 'enduser.id': 'from-resource' }))
  assert.equal(r.customer, 'from-resource')
  assert.equal(r.endpoint, 'chat gpt-4o', 'span:name is the last endpoint default')

  const custom: OtlpMapperOptions = {
    ...opts,
    attribution: {
      ...opts.attribution,
      customer: ['tenant.id', 'tag:customer'],
      endpoint: ['app.feature'],
      agent: ['tag:agent'],
    },
  }
  const c = only(
    request([
      span({
        'gen_ai.request.model': 'gpt-4o',
        'tenant.id': 't-1',
        'app.feature': 'summaries',
        'tag.tags': ['agent:bot'],
      }),
    ]),
    custom,
  )
  assert.deepEqual([c.customer, c.endpoint, c.agent, c.tags], ['t-1', 'summaries', 'bot', ['agent:bot']])
})

test('metadata keeps resource attributes and the cost source; secret-looking keys are dropped', () => {
  const e = only(
    request([span({ 'gen_ai.request.model': 'gpt-4o' }, { name: 'chat' })], {
      'service.name': 'checkout',
      'service.version': '1.2.3',
      'deployment.environment': 'prod',
      'x.api_key': 'sk-should-not-leak',
    }),
  )
  assert.equal(e.metadata['service.name'], 'checkout')
  assert.equal(e.metadata['service.version'], '1.2.3')
  assert.equal(e.metadata['deployment.environment'], 'prod')
  assert.equal(e.metadata['otel.span_name'], 'chat')
  assert.equal(e.metadata['otel.scope'], 'test')
  assert.equal(e.metadata['x.api_key'], undefined)
  assert.ok(!JSON.stringify(e).includes('sk-should-not-leak'))
})

test('bad LLM spans are dead-lettered with a reason; their neighbours still map', () => {
  const good = span({ 'gen_ai.request.model': 'gpt-4o' })
  const bad: Array<[unknown, RegExp]> = [
    [span({ 'gen_ai.request.model': 'gpt-4o' }, { traceId: 'zz' }), /traceId missing or invalid/],
    [span({ 'gen_ai.request.model': 'gpt-4o' }, { spanId: '0000000000000000' }), /spanId missing or invalid/],
    [
      { ...span({ 'gen_ai.request.model': 'gpt-4o' }), startTimeUnixNano: undefined },
      /startTimeUnixNano missing/,
    ],
    [span({ 'gen_ai.request.model': 'gpt-4o' }, { start: '1795684957' }), /out of range/],
    [
      span({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.cost.total_cost': -1 }),
      /gen_ai\.cost\.total_cost is negative/,
    ],
    [
      span({ 'gen_ai.request.model': 'gpt-4o', 'llm.cost.total': 'lots' }),
      /llm\.cost\.total is not a finite number/,
    ],
    [
      span({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 'ten' }),
      /gen_ai\.usage\.input_tokens is not a token count/,
    ],
    [span({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.output_tokens': -3 }), /not a token count/],
    [{ ...span({}), attributes: 'not a list' }, /invalid span at attributes/],
    ['not a span', /invalid span/],
  ]
  const all = outcomes(request([good, ...bad.map(([s]) => s)]))
  assert.equal(all[0]!.kind, 'event')
  bad.forEach(([, re], i) => {
    const o = all[i + 1]!
    assert.equal(o.kind, 'dead', `case ${i}`)
    assert.match((o as { reason: string }).reason, re, `case ${i}`)
    assert.match(o.where, new RegExp(`span ${i + 1}$`))
  })
  const results = mapOtlpToResults(request([good, ...bad.map(([s]) => s)]), opts)
  assert.equal(results.filter((r) => r.ok).length, 1)
  assert.equal(results.filter((r) => !r.ok).length, bad.length)
})

test('a body that is not an ExportTraceServiceRequest fails as a whole; an empty one maps to nothing', () => {
  for (const body of [
    { resourceSpans: 'x' },
    { resourceSpans: [{ scopeSpans: [{ spans: 'no' }] }] },
    'text',
    null,
  ]) {
    assert.equal(mapOtlpTraces(body, opts).ok, false, JSON.stringify(body))
  }
  assert.deepEqual(mapOtlpTraces({}, opts), { ok: true, spans: [] })
  assert.deepEqual(mapOtlpTraces({ resourceSpans: [] }, opts), { ok: true, spans: [] })
  assert.equal((mapOtlpToResults({ resourceSpans: 1 }, opts)[0] as { ok: boolean }).ok, false)
})

test('prompts: fingerprinted from gen_ai.input.messages, indexed gen_ai.prompt.N.* or OpenInference; text only when enabled', () => {
  const genai = span({
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.input.messages': JSON.stringify([
      { role: 'user', parts: [{ type: 'text', content: 'Say hello to acme.' }] },
    ]),
    'gen_ai.output.messages': JSON.stringify([
      { role: 'assistant', parts: [{ type: 'text', content: 'Hello!' }] },
    ]),
  })
  const indexed = span({
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.prompt.0.role': 'user',
    'gen_ai.prompt.0.content': 'Say hello to acme.',
  })
  const oi = span({
    'openinference.span.kind': 'LLM',
    'llm.model_name': 'gpt-4o',
    'llm.input_messages.0.message.role': 'user',
    'llm.input_messages.0.message.content': 'Say hello to acme.',
  })
  const fps = events(request([genai, indexed, oi])).map((e) => e.fingerprint)
  const litellm = mapLiteLLMPayload(
    {
      id: 'x',
      startTime: 1795684957,
      model_group: 'gpt-4o',
      messages: [{ role: 'user', content: 'Say hello to acme.' }],
    },
    { source: 'litellm_http', gateway: 'g', attribution: config.attribution, privacy: config.privacy },
  )
  assert.ok(litellm.ok)
  assert.notEqual(fps[0], '')
  assert.deepEqual(fps, [litellm.event.fingerprint, litellm.event.fingerprint, litellm.event.fingerprint])
  const off = only(request([genai]))
  assert.deepEqual([off.request_text, off.response_text], ['', ''])
  const on = only(request([genai]), { ...opts, privacy: { store_prompts: true, max_prompt_chars: 10 } })
  assert.deepEqual([on.request_text, on.response_text], ['user: Say ', 'Hello!'])
})

test('a call the guardrail downgraded keeps the fingerprint of the model asked for, on both LiteLLM paths', () => {
  const prompt = 'Summarise ticket 4711 again'
  const otlpSpan = (model: string, slm?: Record<string, string>) =>
    span({
      'gen_ai.request.model': model,
      'gen_ai.prompt.0.role': 'user',
      'gen_ai.prompt.0.content': prompt,
      ...(slm ? { 'metadata.spend_logs_metadata': JSON.stringify(slm) } : {}),
    })
  const [asked, downgraded, other] = events(
    request([
      otlpSpan('gpt-4o'),
      otlpSpan('gpt-4o-mini', { gatewarden_model_requested: 'gpt-4o', gatewarden_rule_id: 'rule_1' }),
      otlpSpan('gpt-4o-mini'),
    ]),
  ).map((e) => e.fingerprint)
  assert.equal(downgraded, asked)
  assert.notEqual(other, asked, 'a plain gpt-4o-mini call is another request')
  const generic = (model: string, slm?: Record<string, string>) => {
    const r = mapLiteLLMPayload(
      {
        id: `x-${model}`,
        startTime: 1795684957,
        model_group: model,
        messages: [{ role: 'user', content: prompt }],
        ...(slm ? { metadata: { spend_logs_metadata: slm } } : {}),
      },
      { source: 'litellm_http', gateway: 'g', attribution: config.attribution, privacy: config.privacy },
    )
    assert.ok(r.ok, r.ok ? '' : r.reason)
    return r.event
  }
  const down = generic('gpt-4o-mini', { gatewarden_model_requested: 'gpt-4o', gatewarden_rule_id: 'rule_1' })
  assert.equal(down.fingerprint, asked, 'generic_api and otel agree')
  assert.equal(down.model_requested, 'gpt-4o-mini', 'the model served is still reported as served')
  assert.equal(down.metadata['gatewarden_rule_id'], 'rule_1')
  assert.notEqual(generic('gpt-4o-mini').fingerprint, asked)
})

// The LiteLLM proxy's own spans (test/fixtures/otlp, captured from litellm 1.108.7) against its generic_api
// payloads for the same calls (test/fixtures/litellm/captured): one event per call, attributed alike.
const SCENARIOS = readdirSync(join(REPO_ROOT, 'test/fixtures/litellm/captured'))
  .filter((f) => f.startsWith('generic-api-') && f.endsWith('.json'))
  .map((f) => f.slice('generic-api-'.length, -'.json'.length))

test('LiteLLM otel spans: one event per call, same customer, cost, tokens and status as its generic_api payload', () => {
  assert.ok(SCENARIOS.length >= 10, `found ${SCENARIOS.length} captured scenarios`)
  const same = [
    'event_id',
    'customer',
    'agent',
    'endpoint',
    'session_id',
    'team',
    'user',
    'api_key_hash',
    'call_type',
    'model_requested',
    'input_tokens',
    'output_tokens',
    'cached_tokens',
    'cache_hit',
    'status',
    'error_type',
    'http_status',
    'fingerprint',
  ] as const
  for (const s of SCENARIOS) {
    const e = only(fixture(`otlp/litellm-otel-${s}.json`))
    const [payload] = fixture<StandardLoggingPayload[]>(`litellm/captured/generic-api-${s}.json`)
    const l = mapLiteLLMPayload(payload, {
      source: 'litellm_http',
      gateway: 'g',
      attribution: config.attribution,
      privacy: config.privacy,
    })
    assert.ok(l.ok, s)
    for (const k of same) assert.deepEqual(e[k], l.event[k], `${s}: ${k}`)
    assert.ok(
      Math.abs(e.cost_usd - l.event.cost_usd) < 1e-12,
      `${s}: cost ${e.cost_usd} vs ${l.event.cost_usd}`,
    )
    if (s !== 'failure-auth') {
      // LiteLLM's trace id is the OTel one, and the span times are the call's (ms rounding apart)
      assert.equal(e.trace_id, l.event.trace_id, s)
      assert.ok(Math.abs(e.ts - l.event.ts) <= 1 && Math.abs(e.end_ts - l.event.end_ts) <= 1, `${s}: times`)
    }
  }
})

test('LiteLLM otel specifics: repr metadata, tags from body and headers, cache hit, healthcheck traces', () => {
  const tags = only(fixture('otlp/litellm-otel-tags-metadata.json'))
  assert.deepEqual(tags.tags, ['customer:globex', 'endpoint:search'])
  assert.equal(tags.endpoint, 'search')
  assert.equal(
    tags.customer,
    'globex-user-7',
    'the request `user` (llm.user) comes first, as end_user does for generic_api',
  )
  assert.equal(tags.metadata.job_id, 'job-42', 'spend_logs_metadata (a Python repr) flattened into metadata')
  const headers = only(fixture('otlp/litellm-otel-tags-headers.json'))
  assert.deepEqual([headers.customer, headers.endpoint], ['initech', 'chat'])
  assert.equal(only(fixture('otlp/litellm-otel-agent-header.json')).agent, 'nightly-summarizer')
  const hit = only(fixture('otlp/litellm-otel-cache-hit.json'))
  assert.deepEqual(
    [hit.cache_hit, hit.cost_usd, hit.metadata.gw_cost_source],
    [true, 0, 'attribute:hidden_params.response_cost'],
  )
  const fail = only(fixture('otlp/litellm-otel-failure-rate-limit.json'))
  assert.deepEqual(
    [fail.status, fail.error_type, fail.http_status, fail.model_requested],
    ['failure', 'RateLimitError', 429, 'rate-limited'],
  )
  assert.equal(fail.metadata['service.name'], 'litellm')
  assert.deepEqual(events(fixture('otlp/litellm-otel-healthcheck.json')), [])
})

test('long labels: cut to 1,024 chars with the marker, counted, the span still maps (same rule as LiteLLM)', () => {
  const long = 'u'.repeat(1500)
  const out = mapOtlpTraces(
    request([
      span({ 'gen_ai.request.model': 'gpt-4o', 'user.id': long, 'tag.tags': ['prod', 'n'.repeat(1100)] }),
    ]),
    opts,
  )
  assert.ok(out.ok)
  const [s] = out.spans
  assert.ok(s?.kind === 'event', `expected an event, got ${JSON.stringify(s)}`)
  assert.equal(s.event.customer, `${'u'.repeat(LABEL_MAX_CHARS - 1)}${TRUNCATION_MARKER}`)
  assert.equal(s.event.user, s.event.customer)
  assert.equal(s.event.tags[1]!.length, LABEL_MAX_CHARS)
  // customer, user and the long tag
  assert.equal(s.truncated, 3)
  const [r] = mapOtlpToResults(request([span({ 'gen_ai.request.model': 'gpt-4o', 'user.id': long })]), opts)
  assert.ok(r?.ok && r.truncated === 2)
})

test('the customer tier comes from customer.tier, LiteLLM metadata or a tag, as on the generic_api path', () => {
  const base = { 'gen_ai.request.model': 'gpt-4o' }
  assert.equal(only(request([span(base)])).tier, '')
  assert.equal(only(request([span({ ...base, 'customer.tier': 'enterprise' })])).tier, 'enterprise')
  assert.equal(
    only(request([span({ ...base, 'metadata.spend_logs_metadata': JSON.stringify({ tier: 'pro' }) })])).tier,
    'pro',
  )
  assert.equal(
    only(request([span(base)], { 'service.name': 'x', 'customer.tier': 'free' })).tier,
    'free',
    'resource attribute',
  )
})
