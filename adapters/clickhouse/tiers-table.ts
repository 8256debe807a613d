import type { ClickHouseClient } from '@clickhouse/client'
import type { TierStore } from '../../core/ports/tier-store.js'
import type { CustomerTier, CustomerTierEvent } from '../../schemas/customer-tier.js'
import { writeAudited } from './audited-write.js'

interface Row {
  customer: string
  tier: string
  deleted: boolean | number
  updated_at: string | number
  updated_by: string
}

/** Customer tiers in ClickHouse (`customer_tiers` read with FINAL, `customer_tier_events`). */
export function clickHouseTierStore(client: ClickHouseClient, database: string): TierStore {
  const current = async (customer?: string): Promise<CustomerTier[]> => {
    const rs = await client.query({
      query: `SELECT customer, tier, deleted, toUnixTimestamp64Milli(updated_at) AS updated_at, updated_by
FROM ${database}.customer_tiers FINAL
WHERE NOT deleted AND ({customer:String} = '' OR customer = {customer:String}) ORDER BY customer`,
      query_params: { customer: customer ?? '' },
      format: 'JSONEachRow',
    })
    return (await rs.json<Row>()).map((r) => ({
      customer: r.customer,
      tier: r.tier,
      updated_at: Number(r.updated_at),
      updated_by: r.updated_by,
    }))
  }
  const write = (customer: string, tier: string, deleted: boolean, e: CustomerTierEvent) =>
    writeAudited(
      client,
      {
        table: `${database}.customer_tiers`,
        row: { customer, tier, deleted, updated_at: e.at, updated_by: e.actor },
        at: e.at,
      },
      { table: `${database}.customer_tier_events`, row: e },
    )
  return {
    list: () => current(),
    async set(customer, tier, actor, now) {
      const [before] = await current(customer)
      const e: CustomerTierEvent = {
        customer,
        at: now,
        action: 'set',
        actor,
        before: before?.tier ?? '',
        after: tier,
      }
      await write(customer, tier, false, e)
      return e
    },
    async clear(customer, actor, now) {
      const [before] = await current(customer)
      if (!before) return undefined
      const e: CustomerTierEvent = {
        customer,
        at: now,
        action: 'cleared',
        actor,
        before: before.tier,
        after: '',
      }
      await write(customer, before.tier, true, e)
      return e
    },
    async events(customer) {
      const rs = await client.query({
        query: `SELECT customer, toUnixTimestamp64Milli(at) AS at, action, actor, before, after
FROM ${database}.customer_tier_events WHERE customer = {customer:String} ORDER BY at`,
        query_params: { customer },
        format: 'JSONEachRow',
      })
      return (await rs.json<CustomerTierEvent & { at: string | number }>()).map((r) => ({
        ...r,
        at: Number(r.at),
      }))
    },
  }
}
