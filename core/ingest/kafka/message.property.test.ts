import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { AttributionConfig, PrivacyConfig } from '../../../schemas/config.js'
import { DEAD_LETTER_CODES } from '../../../schemas/dead-letter.js'
import type { KafkaFormat } from '../../../schemas/kafka-config.js'
import { RequestEvent } from '../../../schemas/request-event.js'
import { fixture } from '../../../test/support/paths.js'
import type { MapperOptions } from '../litellm/mapper.js'
import { decodeKafkaValue } from './message.js'

const mapper: MapperOptions = {
  source: 'kafka',
  gateway: 'litellm',
  attribution: AttributionConfig.parse({}),
  privacy: PrivacyConfig.parse({}),
}
const CODES = new Set(Object.keys(DEAD_LETTER_CODES))
const FORMATS: KafkaFormat[] = ['auto', 'litellm', 'canonical', 'ndjson', 'otlp_json']
const success = () => fixture<Record<string, unknown>>('litellm/standard-logging-payload-success.json')

function assertContract(value: Buffer | null, format: KafkaFormat): ReturnType<typeof decodeKafkaValue> {
  const out = decodeKafkaValue(value, { format, maxMessageBytes: 4096, mapper })
  assert.equal(out.truncated.length, out.events.length)
  for (const e of out.events) assert.ok(RequestEvent.safeParse(e).success)
  for (const r of out.rejects) assert.ok(CODES.has(r.code), r.code)
  assert.ok(out.events.length + out.rejects.length > 0, 'a message is never silently dropped')
  return out
}

test('property: any bytes in any topic format decode to valid events and coded rejects, never a throw', () => {
  fc.assert(
    fc.property(
      fc.option(fc.uint8Array({ maxLength: 600 }), { nil: null }),
      fc.constantFrom(...FORMATS),
      (b, f) => {
        assertContract(b === null ? null : Buffer.from(b), f)
      },
    ),
  )
})

test('property: NDJSON and array messages of valid and invalid items keep every valid item', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant('good'), fc.constant('bad'), fc.jsonValue()), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.boolean(),
      (kinds, asArray) => {
        let good = 0
        const items = kinds.map((k, i) => {
          if (k === 'good') {
            good++
            return JSON.stringify({ ...success(), id: `good-${i}`, litellm_call_id: `good-${i}` })
          }
          return k === 'bad' ? '{"id": ' : JSON.stringify(k)
        })
        const text = asArray && !kinds.includes('bad') ? `[${items.join(',')}]` : items.join('\n')
        const out = decodeKafkaValue(Buffer.from(text), { format: 'auto', maxMessageBytes: 1 << 22, mapper })
        assert.equal(out.events.filter((e) => e.event_id.startsWith('good-')).length, good)
        for (const r of out.rejects) assert.ok(CODES.has(r.code))
      },
    ),
  )
})
