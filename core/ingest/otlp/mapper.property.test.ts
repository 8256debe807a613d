import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Config } from '../../../schemas/config.js'
import { DEAD_LETTER_CODES } from '../../../schemas/dead-letter.js'
import { RequestEvent } from '../../../schemas/request-event.js'
import { buildPriceTable } from '../../pricing.js'
import { mapOtlpTraces, type OtlpMapperOptions } from './mapper.js'

const config = Config.parse({})
const opts: OtlpMapperOptions = {
  source: 'otlp',
  gateway: 'gw',
  attribution: config.attribution.otel,
  privacy: config.privacy,
  prices: buildPriceTable({ 'gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10 } }, {}),
}
const CODES = new Set(Object.keys(DEAD_LETTER_CODES))

/** The mapper's contract: never throws; one outcome per span; events valid; dead spans coded. */
function assertContract(body: unknown, spanCount?: number): void {
  const r = mapOtlpTraces(body, opts)
  if (!r.ok) {
    assert.ok(r.reason.length > 0)
    return
  }
  if (spanCount !== undefined) assert.equal(r.spans.length, spanCount)
  for (const s of r.spans) {
    if (s.kind === 'event') assert.ok(RequestEvent.safeParse(s.event).success)
    if (s.kind === 'dead') assert.ok(CODES.has(s.code), s.code)
  }
}

test('property: any JSON value is a 400 reason or outcomes, never a throw', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => assertContract(v)))
  fc.assert(
    fc.property(fc.jsonValue(), (v) => assertContract({ resourceSpans: [{ scopeSpans: [{ spans: [v] }] }] })),
  )
})

const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.record({ stringValue: fc.string({ unit: 'binary', maxLength: 200 }) }),
    fc.record({ intValue: fc.oneof(fc.bigInt().map(String), fc.string({ maxLength: 5 }), fc.integer()) }),
    fc.record({ doubleValue: fc.oneof(fc.double(), fc.constantFrom('NaN', 'Infinity', '-Infinity', 'x')) }),
    fc.record({ boolValue: fc.jsonValue() }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('v'), { maxLength: 3 }) }) }),
    fc.jsonValue(),
  ),
})).v
const KEYS = [
  'gen_ai.request.model',
  'gen_ai.response.model',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.cost',
  'gen_ai.operation.name',
  'user.id',
  'litellm.call_id',
  'metadata.user_api_key_end_user_id',
  'x.other',
]

test('property: LLM spans with hostile attribute values and times keep the contract, one outcome per span', () => {
  const span = fc.record({
    traceId: fc.oneof(fc.constant('4bf92f3577b34da6a3ce929d0e0e4736'), fc.string({ maxLength: 40 })),
    spanId: fc.oneof(
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 }),
      fc.string({ maxLength: 20 }),
    ),
    name: fc.string({ maxLength: 20 }),
    startTimeUnixNano: fc.oneof(
      fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String),
      fc.constantFrom('1795684957386721000', '1795684957386', 'abc', ''),
      fc.integer(),
    ),
    endTimeUnixNano: fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String),
    attributes: fc.array(fc.record({ key: fc.constantFrom(...KEYS), value: anyValue }), { maxLength: 8 }),
  })
  fc.assert(
    fc.property(fc.array(span, { maxLength: 6 }), (spans) => {
      const withLlm = spans.map((s) => ({
        ...s,
        attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } }, ...s.attributes],
      }))
      assertContract({ resourceSpans: [{ scopeSpans: [{ spans: withLlm }] }] }, spans.length)
    }),
  )
})
