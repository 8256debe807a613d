import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  LABEL_MAX_CHARS,
  MAX_METADATA_KEYS,
  MAX_TAGS,
  METADATA_KEY_MAX_CHARS,
  METADATA_VALUE_MAX_CHARS,
  MetadataBuilder,
  TRUNCATION_MARKER,
  clipLabels,
  clipText,
  tagValue,
} from './labels.js'

test('clipText: fits as is; longer is cut to the limit with the marker; a surrogate pair is never split', () => {
  assert.equal(clipText('abc', 3), 'abc')
  assert.equal(clipText('abcd', 3), `ab${TRUNCATION_MARKER}`)
  assert.equal(clipText('a'.repeat(2000), LABEL_MAX_CHARS).length, LABEL_MAX_CHARS)
  const emoji = `a${'😀'.repeat(5)}`
  const cut = clipText(emoji, 5)
  assert.ok(cut.length <= 5 && cut.endsWith(TRUNCATION_MARKER))
  assert.doesNotThrow(() => encodeURIComponent(cut), 'no lone surrogate')
})

test('clipLabels: label fields, tags, tag count, metadata keys and values, each cut counted', () => {
  const long = 'x'.repeat(1500)
  const { value, truncated } = clipLabels({
    event_id: 'e'.repeat(300),
    customer: long,
    agent: 'short',
    cost_usd: 1,
    tags: [...Array.from({ length: MAX_TAGS + 5 }, (_, i) => `t${i}`), long].reverse(),
    metadata: { ['k'.repeat(300)]: 'v', ok: 'y'.repeat(5000) },
  })
  assert.equal(value.event_id.length, 300, 'event_id is identity: never cut')
  assert.equal(value.customer, clipText(long, LABEL_MAX_CHARS))
  assert.equal(value.agent, 'short')
  assert.equal(value.tags.length, MAX_TAGS)
  assert.equal(value.tags[0], clipText(long, LABEL_MAX_CHARS))
  assert.deepEqual(
    Object.keys(value.metadata).map((k) => k.length),
    [METADATA_KEY_MAX_CHARS, 2],
  )
  assert.equal(value.metadata.ok.length, METADATA_VALUE_MAX_CHARS)
  // customer, the long tag, the tag count, one metadata key, one metadata value
  assert.equal(truncated, 5)
  assert.equal(clipLabels({ customer: 'a', tags: ['b'], metadata: { c: 'd' } }).truncated, 0)
})

test('MetadataBuilder: first value wins, secrets and empties skipped, non-strings as JSON, bounded', () => {
  const md = new MetadataBuilder()
    .put('model_id', 'gw')
    .putAll({
      model_id: 'sender',
      api_key: 'sk-1',
      Authorization: 'b',
      empty: '',
      n: 3,
      o: { a: 1 },
      nil: null,
    })
    .putAll(['not', 'a', 'record'])
    .build()
  assert.deepEqual(md, { model_id: 'gw', n: '3', o: '{"a":1}' })
  const many = new MetadataBuilder()
  for (let i = 0; i < MAX_METADATA_KEYS + 10; i++) many.put(`k${i}`, 'v')
  assert.equal(Object.keys(many.build()).length, MAX_METADATA_KEYS)
})

test('tagValue: the first NAME:value tag, trimmed; none or empty gives ""', () => {
  assert.equal(tagValue(['team:a', 'customer: acme ', 'customer:other'], 'customer'), 'acme')
  assert.equal(tagValue(['customer:'], 'customer'), '')
  assert.equal(tagValue([], 'customer'), '')
})
