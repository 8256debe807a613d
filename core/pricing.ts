import type { ModelPrice } from '../schemas/pricing.js'

/** Prices by model name: configured overrides first, then the shipped table. Keys are lower-case. */
export interface PriceTable {
  overrides: ReadonlyMap<string, ModelPrice>
  shipped: ReadonlyMap<string, ModelPrice>
}

/** A price found for a model, and which table and key it came from. */
export interface PriceHit {
  price: ModelPrice
  key: string
  from: 'override' | 'table'
}

const lower = (m: Record<string, ModelPrice>) =>
  new Map(Object.entries(m).map(([k, v]) => [k.trim().toLowerCase(), v]))

/** Builds the lookup from the shipped models and the `pricing.overrides` of the config. */
export function buildPriceTable(
  shipped: Record<string, ModelPrice>,
  overrides: Record<string, ModelPrice>,
): PriceTable {
  return { overrides: lower(overrides), shipped: lower(shipped) }
}

/**
 * Names a model is looked up under, most specific first: as given, without a `provider/` prefix
 * (`openai/gpt-4o`), then without a date suffix (`-2024-08-06`, `-20241022`, `@20240620`).
 */
export function priceKeys(model: string): string[] {
  const keys: string[] = []
  const add = (k: string) => {
    if (k !== '' && !keys.includes(k)) keys.push(k)
  }
  const m = model.trim().toLowerCase()
  add(m)
  const bare = m.slice(m.lastIndexOf('/') + 1)
  add(bare)
  for (const k of [m, bare]) add(k.replace(/(-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8})$/, ''))
  return keys
}

/** The price of the first of `models` found: overrides win over the shipped table for every name tried. */
export function findPrice(table: PriceTable, models: readonly string[]): PriceHit | undefined {
  const keys = models.flatMap(priceKeys)
  for (const [from, map] of [
    ['override', table.overrides],
    ['table', table.shipped],
  ] as const) {
    for (const key of keys) {
      const price = map.get(key)
      if (price) return { price, key, from }
    }
  }
  return undefined
}

/**
 * USD cost of a call from token counts. `input` includes the `cached` (cache-read) tokens, as the GenAI
 * conventions and OpenAI count them; when `cached` exceeds `input`, input is taken as excluding them
 * (older Anthropic-style counts). Cached tokens cost `cached_input_per_mtok`, else the input price.
 */
export function tokenCost(
  price: ModelPrice,
  tokens: { input: number; output: number; cached: number },
): number {
  const cached = Math.max(0, tokens.cached)
  const uncached = cached > tokens.input ? tokens.input : tokens.input - cached
  const cachedPrice = price.cached_input_per_mtok ?? price.input_per_mtok
  return (
    (uncached * price.input_per_mtok +
      cached * cachedPrice +
      Math.max(0, tokens.output) * price.output_per_mtok) /
    1e6
  )
}
