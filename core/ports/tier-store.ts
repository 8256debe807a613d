import type { CustomerTier, CustomerTierEvent } from '../../schemas/customer-tier.js'

/**
 * Customer tiers set through the API (implemented by `adapters/clickhouse/tiers-table.ts`).
 * MUST: a write resolves once the new state and its audit row are durable; `list` answers the latest
 * state of every customer that has a tier now (cleared ones are absent).
 */
export interface TierStore {
  list(): Promise<CustomerTier[]>
  /** Sets (or replaces) `customer`'s tier; returns the event written. */
  set(customer: string, tier: string, actor: string, now: number): Promise<CustomerTierEvent>
  /** Clears it (the payload's tier applies again); undefined when it had none. */
  clear(customer: string, actor: string, now: number): Promise<CustomerTierEvent | undefined>
  events(customer: string): Promise<CustomerTierEvent[]>
}
