import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildPriceTable, findPrice, priceKeys, tokenCost } from './pricing.js'

const table = buildPriceTable(
  {
    'gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10, cached_input_per_mtok: 1.25 },
    'gpt-4o-2024-08-06': { input_per_mtok: 2.5, output_per_mtok: 10 },
    'claude-sonnet-4-5': { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3 },
  },
  {
    'GPT-4o': { input_per_mtok: 1, output_per_mtok: 2 },
    'my-finetune': { input_per_mtok: 4, output_per_mtok: 8 },
  },
)

test('lookup names: as given, without provider prefix, without date suffix', () => {
  assert.deepEqual(priceKeys('openai/gpt-4o-2024-08-06'), [
    'openai/gpt-4o-2024-08-06',
    'gpt-4o-2024-08-06',
    'openai/gpt-4o',
    'gpt-4o',
  ])
  assert.deepEqual(priceKeys('claude-sonnet-4-5@20250929'), [
    'claude-sonnet-4-5@20250929',
    'claude-sonnet-4-5',
  ])
  assert.deepEqual(priceKeys(' Claude-Sonnet-4-5-20250929 '), [
    'claude-sonnet-4-5-20250929',
    'claude-sonnet-4-5',
  ])
})

test('overrides win over the shipped table for every name tried; unknown models have no price', () => {
  assert.deepEqual(findPrice(table, ['openai/gpt-4o-2024-08-06']), {
    price: { input_per_mtok: 1, output_per_mtok: 2 },
    key: 'gpt-4o',
    from: 'override',
  })
  assert.equal(findPrice(table, ['anthropic/claude-sonnet-4-5-20250929'])?.key, 'claude-sonnet-4-5')
  assert.equal(findPrice(table, ['unknown', 'my-finetune'])?.from, 'override')
  assert.equal(findPrice(table, ['nope']), undefined)
})

test('token cost: cached tokens at the cached price, counted inside input unless they exceed it', () => {
  const p = { input_per_mtok: 2.5, output_per_mtok: 10, cached_input_per_mtok: 1.25 }
  assert.equal(tokenCost(p, { input: 1_000_000, output: 0, cached: 0 }), 2.5)
  assert.equal(tokenCost(p, { input: 10, output: 20, cached: 0 }), 0.000225)
  assert.equal(
    tokenCost(p, { input: 1_000_000, output: 1_000_000, cached: 400_000 }),
    0.6 * 2.5 + 0.4 * 1.25 + 10,
  )
  assert.equal(tokenCost(p, { input: 100_000, output: 0, cached: 300_000 }), 0.1 * 2.5 + 0.3 * 1.25)
  assert.equal(
    tokenCost({ input_per_mtok: 2, output_per_mtok: 4 }, { input: 1_000_000, output: 0, cached: 500_000 }),
    2,
  )
})
