import shipped from '../../schemas/model-prices.json' with { type: 'json' }
import { ModelPricesFile, type PricingConfig } from '../../schemas/pricing.js'
import { buildPriceTable, type PriceTable } from '../../core/pricing.js'

/** The shipped model prices (schemas/model-prices.json), validated, with `pricing.overrides` on top. */
export function loadPriceTable(pricing: PricingConfig): PriceTable {
  return buildPriceTable(ModelPricesFile.parse(shipped).models, pricing.overrides)
}
