import type { ClickHouseClient } from '@clickhouse/client'
import { ATTRIBUTE_DIMENSIONS, type CostDimension, type CostQuery, type CostRow } from '../../schemas/api.js'
import type { CostPlan } from '../../core/cost-plan.js'
import type { CostReader } from '../../core/ports/cost-reader.js'
import type { StoreClient } from './client.js'

/** The CostReader port on ClickHouse: the rollups or raw rows the plan names. */
export function clickHouseCostReader(store: StoreClient): CostReader {
  return { cost: (q, plan) => queryCost(store.client, store.database, q, plan) }
}

const BUCKET: Record<CostPlan['source'], string> = {
  spend_by_hour: 'hour',
  spend_by_minute: 'minute',
  requests: 'ts',
}

/** SELECT expression of each dimension; `key` also brings the alias of the key. */
function dimensionSql(d: CostDimension, bucket: string): string {
  switch (d) {
    case 'key':
      return 'api_key_hash AS d_key, any(api_key_alias) AS a_key_alias'
    case 'day':
      return `toString(toDate(${bucket})) AS d_day`
    case 'hour':
      return `formatDateTime(toStartOfHour(${bucket}), '%Y-%m-%dT%H:00:00Z') AS d_hour`
    default:
      return `${d} AS d_${d}`
  }
}

/**
 * The equality filter of a dimension, a bound parameter. Each attribute dimension is the rollups' column
 * of the same name, except `key` (hash or alias).
 */
function filterSql(d: (typeof ATTRIBUTE_DIMENSIONS)[number]): string {
  return d === 'key'
    ? '(api_key_hash = {key:String} OR api_key_alias = {key:String})'
    : `${d} = {${d}:String}`
}

/**
 * Cost grouped by the query's dimensions over the plan's range, most expensive first. An empty `group_by`
 * answers one row: the sums over the whole range (also when nothing matched).
 */
export async function queryCost(
  client: ClickHouseClient,
  database: string,
  q: CostQuery,
  plan: Pick<CostPlan, 'fromMs' | 'toMs' | 'source'>,
): Promise<CostRow[]> {
  const bucket = BUCKET[plan.source]
  const raw = plan.source === 'requests'
  const sums = raw
    ? `count() AS s_requests, countIf(status = 'failure') AS s_failures, sum(input_tokens) AS s_input_tokens,
       sum(output_tokens) AS s_output_tokens, sum(cached_tokens) AS s_cached_tokens`
    : `sum(requests) AS s_requests, sum(failures) AS s_failures, sum(input_tokens) AS s_input_tokens,
       sum(output_tokens) AS s_output_tokens, sum(cached_tokens) AS s_cached_tokens`
  const where = [
    `${bucket} >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')`,
    `${bucket} < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`,
  ]
  const params: Record<string, unknown> = { from: plan.fromMs, to: plan.toMs, limit: q.limit }
  for (const d of ATTRIBUTE_DIMENSIONS) {
    const v = q[d]
    if (v === undefined) continue
    where.push(filterSql(d))
    params[d] = v
  }
  // every output column has a prefixed alias (d_ dimension, a_ attribute, s_ sum): an alias equal to a
  // column name (hour, cost_usd) would replace that column in WHERE and inside the aggregates
  const groupKeys = q.group_by.map((d) => `d_${d}`)
  const grouped = groupKeys.length
    ? `
GROUP BY ${groupKeys.join(', ')}
ORDER BY s_cost_usd DESC, ${groupKeys.join(', ')}
LIMIT {limit:UInt32}`
    : ''
  const query = `SELECT ${[...q.group_by.map((d) => dimensionSql(d, bucket)), ''].join(', ')}
       toFloat64(sum(cost_usd)) AS s_cost_usd, ${sums}
FROM ${database}.${plan.source}
WHERE ${where.join(' AND ')}${grouped}`
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' })
  const rows = await rs.json<Record<string, string | number>>()
  return rows.map((r) => {
    // dimensions first, then the sums (64-bit sums arrive quoted)
    const dims: Record<string, string | number> = {}
    const sums = {
      cost_usd: 0,
      requests: 0,
      failures: 0,
      input_tokens: 0,
      output_tokens: 0,
      cached_tokens: 0,
    }
    for (const [k, v] of Object.entries(r)) {
      if (k.startsWith('s_')) (sums as Record<string, number>)[k.slice(2)] = Number(v)
      else dims[k.slice(2)] = v
    }
    sums.cost_usd = Math.round(sums.cost_usd * 1e10) / 1e10
    return { ...dims, ...sums }
  })
}
