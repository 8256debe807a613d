import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Config } from '../../schemas/config.js'
import type { OtlpTraceRequest } from '../../schemas/otlp-trace.js'
import { findPrice } from '../../core/pricing.js'
import { mapOtlpTraces } from '../../core/ingest/otlp/mapper.js'
import { fixture } from '../../test/support/paths.js'
import { loadPriceTable } from './price-table.js'

test('the shipped table loads and config overrides take precedence', () => {
  const table = loadPriceTable({ overrides: { 'gpt-4o': { input_per_mtok: 1, output_per_mtok: 1 } } })
  assert.ok(table.shipped.size > 100, `${table.shipped.size} models`)
  assert.deepEqual(findPrice(loadPriceTable({ overrides: {} }), ['gpt-4o'])?.price, {
    provider: 'openai',
    input_per_mtok: 2.5,
    output_per_mtok: 10,
    cached_input_per_mtok: 1.25,
  })
  assert.equal(findPrice(table, ['openai/gpt-4o'])?.from, 'override')
  for (const m of [
    'gpt-4o-mini',
    'text-embedding-3-small',
    'claude-sonnet-4-5',
    'gemini-2.5-pro',
    'deepseek-chat',
  ]) {
    assert.ok(findPrice(table, [m]), `${m} is priced`)
  }
})

test('without a cost attribute, the price table reproduces what LiteLLM charged for the captured calls', () => {
  const config = Config.parse({})
  const opts = {
    source: 'otlp' as const,
    gateway: 'g',
    attribution: config.attribution.otel,
    privacy: config.privacy,
    prices: loadPriceTable(config.pricing),
  }
  for (const s of ['success-user', 'tags-metadata', 'streaming', 'embedding', 'cache-miss']) {
    const body = fixture<OtlpTraceRequest>(`otlp/litellm-otel-${s}.json`)
    const eventOf = (b: unknown) => {
      const r = mapOtlpTraces(b, opts)
      assert.ok(r.ok)
      return r.spans.flatMap((x) => (x.kind === 'event' ? [x.event] : []))[0]!
    }
    const withCost = eventOf(body)
    for (const rs of body.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of (ss.spans ?? []) as Array<{ attributes?: Array<{ key: string }> }>) {
          span.attributes = span.attributes?.filter(
            (a) => !a.key.startsWith('gen_ai.cost.') && a.key !== 'hidden_params',
          )
        }
      }
    }
    const priced = eventOf(body)
    assert.match(priced.metadata.gw_cost_source ?? '', /^price_table:/, s)
    assert.ok(
      Math.abs(priced.cost_usd - withCost.cost_usd) < 1e-12,
      `${s}: table ${priced.cost_usd} vs LiteLLM ${withCost.cost_usd}`,
    )
  }
})

test('config: pricing.overrides and attribution.otel parse, with OTel defaults; bad prices name the key', () => {
  const c = Config.parse({
    pricing: {
      overrides: { 'my-model': { input_per_mtok: 1, output_per_mtok: 2, cached_input_per_mtok: 0.5 } },
    },
    attribution: { otel: { customer: ['tenant.id'] } },
  })
  assert.deepEqual(c.pricing.overrides['my-model'], {
    input_per_mtok: 1,
    output_per_mtok: 2,
    cached_input_per_mtok: 0.5,
  })
  assert.deepEqual(c.attribution.otel.customer, ['tenant.id'])
  assert.equal(c.attribution.otel.agent[0], 'gen_ai.agent.name')
  assert.deepEqual(Config.parse({}).attribution.otel.customer.slice(0, 3), [
    'user.id',
    'enduser.id',
    'llm.user',
  ])
  const bad = Config.safeParse({ pricing: { overrides: { m: { input_per_mtok: -1, output_per_mtok: 1 } } } })
  assert.equal(bad.success, false)
  assert.deepEqual(bad.error?.issues[0]?.path, ['pricing', 'overrides', 'm', 'input_per_mtok'])
})
