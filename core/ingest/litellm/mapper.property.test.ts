import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { AttributionConfig, PrivacyConfig } from '../../../schemas/config.js'
import { DEAD_LETTER_CODES } from '../../../schemas/dead-letter.js'
import { RequestEvent } from '../../../schemas/request-event.js'
import { fixture } from '../../../test/support/paths.js'
import { LABEL_MAX_CHARS } from '../labels.js'
import { mapLiteLLMPayload, type MapperOptions } from './mapper.js'

const opts: MapperOptions = {
  source: 'litellm_http',
  gateway: 'litellm',
  attribution: AttributionConfig.parse({}),
  privacy: PrivacyConfig.parse({}),
}
const success = () => fixture<Record<string, unknown>>('litellm/standard-logging-payload-success.json')
const CODES = new Set(Object.keys(DEAD_LETTER_CODES))

/** The mapper's contract on any input: never throws; an event the schema accepts, or a coded reason. */
function assertContract(input: unknown): ReturnType<typeof mapLiteLLMPayload> {
  const r = mapLiteLLMPayload(input, opts)
  if (r.ok) assert.ok(RequestEvent.safeParse(r.event).success, JSON.stringify(r.event).slice(0, 200))
  else {
    assert.ok(CODES.has(r.code), r.code)
    assert.ok(r.reason.length > 0)
  }
  return r
}

test('property: any JSON value maps to a valid event or a coded dead letter, never a throw', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => void assertContract(v)))
})

/** Field values a hostile sender may put in any field. */
const hostileValue = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(NaN, Infinity, -Infinity, -1, -0, 1e308, 2 ** 53, '', 'NaN', '1e999', '\uD800', null),
  fc.string({ unit: 'binary', maxLength: 2_000 }),
)

test('property: a real payload with any field replaced by a hostile value keeps the contract', () => {
  const keys = Object.keys(success())
  fc.assert(
    fc.property(fc.constantFrom(...keys), hostileValue, (key, value) => {
      assertContract({ ...success(), [key]: value })
    }),
  )
})

test('property: any customer string and any finite non-negative cost are kept: the event is stored, the label cut to the limit', () => {
  fc.assert(
    fc.property(
      // a blank customer falls back to the key's end user (mapper.test.ts); here it is always set
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3_000 }).filter((c) => c.trim() !== ''),
      fc.double({ min: 0, max: 1_000, noNaN: true }),
      (customer, cost) => {
        const r = assertContract({ ...success(), end_user: customer, response_cost: cost })
        assert.ok(r.ok, !r.ok ? r.reason : '')
        assert.ok(r.event.customer.length <= LABEL_MAX_CHARS)
        assert.equal(r.event.cost_usd, cost)
        if (customer.length <= LABEL_MAX_CHARS) assert.equal(r.event.customer, customer.trim())
      },
    ),
  )
})

test('property: a negative or non-finite cost is always GW_DL_BAD_NUMBER', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.double({ max: -Number.MIN_VALUE, noNaN: true }),
        fc.constantFrom(NaN, Infinity, 'NaN', 'abc'),
      ),
      (cost) => {
        const r = mapLiteLLMPayload({ ...success(), response_cost: cost }, opts)
        assert.ok(!r.ok)
        assert.equal(r.code, 'GW_DL_BAD_NUMBER')
      },
    ),
  )
})
