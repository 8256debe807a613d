import type { HourlySpendReader, HourlySpendRow } from '../../core/ports/hourly-spend-reader.js'
import type { BudgetScope } from '../../schemas/policy.js'
import type { StoreClient } from './client.js'

/** Each dimension's value as the detectors see it (a key: its hash, else its alias). */
const VALUE: Record<string, string> = {
  customer: 'customer',
  team: 'team',
  key: "if(api_key_hash != '', api_key_hash, api_key_alias)",
  endpoint: 'endpoint',
  agent: 'agent',
  model: 'model',
}

/** The HourlySpendReader port on the hourly rollup (`spend_by_hour`, kept forever). */
export function clickHouseHourlySpendReader(store: StoreClient): HourlySpendReader {
  return { hourlySpend: (scope, from, to) => hourlySpend(store, scope, from, to) }
}

/** Spend per scope value and hour in `[fromMs, toMs)`, summed over the rollup's parts. */
export async function hourlySpend(
  store: StoreClient,
  scope: BudgetScope,
  fromMs: number,
  toMs: number,
): Promise<HourlySpendRow[]> {
  const [kind, value] = Object.entries(scope)[0] ?? ['global', '']
  const col = kind === 'global' ? "''" : VALUE[kind]
  if (!col) throw new Error(`unknown scope ${kind}`)
  const filter =
    kind === 'global'
      ? ''
      : value === '*'
        ? `AND ${col} != ''`
        : kind === 'key'
          ? 'AND (api_key_hash = {value:String} OR api_key_alias = {value:String})'
          : `AND ${col} = {value:String}`
  const rs = await store.client.query({
    query: `SELECT ${kind === 'key' && value !== '*' ? '{value:String}' : col} AS s_id,
       toInt64(toUnixTimestamp(hour)) * 1000 AS s_hour,
       toFloat64(sum(cost_usd)) AS s_cost,
       toUInt64(sum(requests)) AS s_requests
FROM ${store.database}.spend_by_hour
WHERE hour >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND hour < fromUnixTimestamp64Milli({to:Int64}, 'UTC') ${filter}
GROUP BY s_id, s_hour
ORDER BY s_hour, s_id`,
    query_params: { from: fromMs, to: toMs, value },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{
    s_id: string
    s_hour: string | number
    s_cost: number
    s_requests: string | number
  }>()
  return rows.map((r) => ({
    kind,
    id: String(r.s_id),
    hour: Number(r.s_hour),
    cost_usd: Number(r.s_cost),
    requests: Number(r.s_requests),
  }))
}
