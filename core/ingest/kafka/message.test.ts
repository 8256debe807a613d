import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  decodeKafkaValue,
  detectItemKind,
  splitMessage,
  OTLP_UNAVAILABLE,
  type KafkaDecodeOptions,
} from './message.js'
import { mapLiteLLMPayload, type MapperOptions } from '../litellm/mapper.js'
import type { KafkaFormat } from '../../../schemas/kafka-config.js'
import { AttributionConfig, PrivacyConfig } from '../../../schemas/config.js'
import { fixture } from '../../../test/support/paths.js'

type Payload = Record<string, unknown>
const mapper: MapperOptions = {
  source: 'kafka',
  gateway: 'litellm',
  attribution: AttributionConfig.parse({}),
  privacy: PrivacyConfig.parse({}),
}
const litellm = (id: string, cost = 0.001): Payload => ({
  ...fixture<Payload>('litellm/standard-logging-payload-success.json'),
  id,
  litellm_call_id: id,
  response_cost: cost,
})
const canonical = (id: string): Payload => ({
  event_id: id,
  ts: '2025-02-11T01:02:03.000Z',
  source: 'litellm_http',
  customer: 'c1',
  cost_usd: 0.5,
})
const otlp = (name: string): Payload => ({ resourceSpans: [{ scopeSpans: [{ spans: [{ name }] }] }] })
/** A stand-in OTLP mapper: one event per span named "llm", nothing for other spans, a reject for "bad". */
const fakeOtlp: KafkaDecodeOptions['mapOtlp'] = (req) => {
  const spans = (
    (req as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] }).resourceSpans ?? []
  ).flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))
  return spans.flatMap((s) => {
    if (s.name === 'bad') return [{ ok: false as const, reason: 'bad span', code: 'GW_DL_INVALID' as const }]
    if (s.name !== 'llm') return []
    const m = mapLiteLLMPayload(litellm('otlp-span'), mapper)
    return [m]
  })
}

const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))
const ndjson = (...items: unknown[]) =>
  Buffer.from(items.map((i) => (typeof i === 'string' ? i : JSON.stringify(i))).join('\n') + '\n')

interface Case {
  name: string
  value: Buffer | null
  format?: KafkaFormat
  max?: number
  otlp?: boolean
  ids: string[]
  /** Expected rejects as `item: reason-regex` (item null = whole message). */
  rejects: [number | null, RegExp][]
}

const cases: Case[] = [
  { name: 'one LiteLLM object', value: enc(litellm('a')), ids: ['a'], rejects: [] },
  {
    name: 'JSON array, one bad cost',
    value: enc([litellm('a'), litellm('b'), { ...litellm('c'), response_cost: -1 }]),
    ids: ['a', 'b'],
    rejects: [[2, /negative/]],
  },
  {
    name: 'NDJSON sniffed, one line not JSON',
    value: ndjson(litellm('a'), '{oops', litellm('b')),
    ids: ['a', 'b'],
    rejects: [[1, /line 2 is not JSON/]],
  },
  {
    name: 'NDJSON mixes kinds',
    value: ndjson(litellm('a'), canonical('k1'), otlp('llm')),
    otlp: true,
    ids: ['a', 'k1', 'otlp-span'],
    rejects: [],
  },
  { name: 'canonical event', value: enc(canonical('k1')), ids: ['k1'], rejects: [] },
  {
    name: 'canonical event without ts',
    value: enc({ event_id: 'k2', source: 'kafka' }),
    ids: [],
    rejects: [[0, /canonical event at ts/]],
  },
  {
    name: 'canonical event with a negative cost',
    value: enc({ ...canonical('k3'), cost_usd: -1 }),
    ids: [],
    rejects: [[0, /canonical event at cost_usd/]],
  },
  {
    name: 'canonical event from any producer source',
    value: enc({ ...canonical('k4'), source: 'my-pipeline' }),
    ids: ['k4'],
    rejects: [],
  },
  {
    name: 'OTLP without a mapper',
    value: enc(otlp('llm')),
    ids: [],
    rejects: [[0, new RegExp(OTLP_UNAVAILABLE)]],
  },
  {
    name: 'OTLP with a mapper: non-LLM spans ignored',
    value: enc(otlp('http')),
    otlp: true,
    ids: [],
    rejects: [],
  },
  {
    name: 'OTLP span the mapper rejects',
    value: enc(otlp('bad')),
    otlp: true,
    ids: [],
    rejects: [[0, /bad span/]],
  },
  {
    name: 'OTLP with resourceSpans not an array',
    value: enc({ resourceSpans: 3 }),
    otlp: true,
    ids: [],
    rejects: [[0, /not an array/]],
  },
  { name: 'tombstone', value: null, ids: [], rejects: [[null, /tombstone/]] },
  { name: 'empty value', value: enc('  \n'), ids: [], rejects: [[null, /empty/]] },
  { name: 'not JSON', value: enc('hello world'), ids: [], rejects: [[null, /not JSON/]] },
  {
    name: 'binary with newlines',
    value: Buffer.from([0xff, 0x0a, 0xfe, 0x0a, 0x00]),
    ids: [],
    rejects: [[null, /not JSON/]],
  },
  { name: 'JSON scalar', value: enc('42'), ids: [], rejects: [[0, /not a JSON object \(got number\)/]] },
  {
    name: 'array of non-objects',
    value: enc([1, null, [2]]),
    ids: [],
    rejects: [
      [0, /number/],
      [1, /null/],
      [2, /array/],
    ],
  },
  {
    name: 'too large',
    value: enc(litellm('big')),
    max: 1024,
    ids: [],
    rejects: [[null, /over kafka.max_message_bytes \(1024\)/]],
  },
  {
    name: 'forced litellm reads a canonical-looking item as LiteLLM',
    value: enc(canonical('k1')),
    format: 'litellm',
    ids: [],
    rejects: [[0, /missing id/]],
  },
  {
    name: 'forced canonical rejects a LiteLLM payload',
    value: enc(litellm('a')),
    format: 'canonical',
    ids: [],
    rejects: [[0, /canonical event at event_id/]],
  },
  {
    name: 'forced otlp_json rejects a LiteLLM payload',
    value: enc(litellm('a')),
    format: 'otlp_json',
    otlp: true,
    ids: [],
    rejects: [[0, /no resourceSpans/]],
  },
  {
    name: 'forced ndjson: one object per line',
    value: ndjson(litellm('a'), litellm('b')),
    format: 'ndjson',
    ids: ['a', 'b'],
    rejects: [],
  },
  {
    name: 'forced ndjson: an array line is one bad item',
    value: ndjson([litellm('a')], litellm('b')),
    format: 'ndjson',
    ids: ['b'],
    rejects: [[0, /got array/]],
  },
  {
    name: 'forced ndjson: nothing parses',
    value: enc('x\ny'),
    format: 'ndjson',
    ids: [],
    rejects: [[null, /no line/]],
  },
]

for (const c of cases) {
  test(`decodeKafkaValue: ${c.name}`, () => {
    const out = decodeKafkaValue(c.value, {
      format: c.format ?? 'auto',
      maxMessageBytes: c.max ?? 1024 * 1024,
      mapper,
      ...(c.otlp ? { mapOtlp: fakeOtlp } : {}),
    })
    assert.deepEqual(
      out.events.map((e) => e.event_id),
      c.ids,
    )
    assert.equal(out.rejects.length, c.rejects.length, JSON.stringify(out.rejects.map((r) => r.reason)))
    c.rejects.forEach(([item, reason], i) => {
      assert.equal(out.rejects[i]!.item, item)
      assert.match(out.rejects[i]!.reason, reason)
    })
    for (const e of out.events) assert.equal(e.source, 'kafka')
  })
}

test('a LiteLLM payload gives the same event through Kafka as through HTTP, apart from source', () => {
  const p = litellm('same-id', 0.0123)
  const viaKafka = decodeKafkaValue(enc(p), { format: 'auto', maxMessageBytes: 1 << 20, mapper }).events[0]!
  const viaHttp = mapLiteLLMPayload(p, { ...mapper, source: 'litellm_http' })
  assert.ok(viaHttp.ok)
  assert.deepEqual({ ...viaKafka, source: 'x' }, { ...viaHttp.event, source: 'x' })
  assert.equal(viaKafka.event_id, 'same-id')
})

test('canonical events get defaults and the configured gateway unless they name one', () => {
  const [a, b] = decodeKafkaValue(ndjson(canonical('k1'), { ...canonical('k2'), gateway: 'kong' }), {
    format: 'auto',
    maxMessageBytes: 1 << 20,
    mapper,
  }).events
  assert.equal(a!.gateway, 'litellm')
  assert.equal(a!.ts, Date.parse('2025-02-11T01:02:03.000Z'))
  assert.equal(a!.end_ts, a!.ts)
  assert.equal(a!.cost_usd, 0.5)
  assert.equal(a!.status, 'success')
  assert.equal(b!.gateway, 'kong')
})

test('an oversized value keeps only its head and its real size', () => {
  const big = Buffer.alloc(50_000, 'x')
  const r = decodeKafkaValue(big, { format: 'auto', maxMessageBytes: 10_000, mapper }).rejects[0]!
  assert.equal(r.rawBytes, 50_000)
  assert.equal((r.raw as string).length, 4096)
})

test('detectItemKind and splitMessage', () => {
  assert.equal(detectItemKind({ resourceSpans: [] }), 'otlp')
  assert.equal(detectItemKind({ event_id: 'x', source: 'kafka' }), 'canonical')
  assert.equal(detectItemKind({ event_id: 'x' }), 'litellm')
  assert.equal(detectItemKind({ id: 'x' }), 'litellm')
  assert.deepEqual(splitMessage('{"a":1}', false), [{ ok: true, value: { a: 1 } }])
  assert.deepEqual(splitMessage('[{"a":1},{"b":2}]', false), [
    { ok: true, value: { a: 1 } },
    { ok: true, value: { b: 2 } },
  ])
  assert.deepEqual(splitMessage('{"a":1}\n\n{"b":2}\n', false), [
    { ok: true, value: { a: 1 } },
    { ok: true, value: { b: 2 } },
  ])
  assert.deepEqual(splitMessage('[]', false), [])
})

test('long labels on every item kind are cut and counted per event, never rejected', () => {
  const long = 'z'.repeat(1500)
  const lite = litellm('long-lite')
  lite.end_user = long
  ;(lite.metadata as Payload).user_api_key_end_user_id = long
  const out = decodeKafkaValue(
    ndjson(
      { ...canonical('long-canon'), customer: long, tags: ['t'.repeat(1100)] },
      lite,
      canonical('short'),
    ),
    { format: 'auto', maxMessageBytes: 1 << 20, mapper },
  )
  assert.deepEqual(out.rejects, [])
  assert.deepEqual(
    out.events.map((e) => [e.event_id, e.customer.length]),
    [
      ['long-canon', 1024],
      ['long-lite', 1024],
      ['short', 2],
    ],
  )
  assert.ok(out.events[0]!.customer.endsWith('…') && out.events[0]!.tags[0]!.endsWith('…'))
  assert.equal(out.events[0]!.cost_usd, 0.5)
  assert.deepEqual(out.truncated, [2, 1, 0])
})
