import type { ClickHouseClient } from '@clickhouse/client'
import { ATTRIBUTE_DIMENSIONS, type CostDimension, type CostQuery, type CostRow } from '../../schemas/api.js'
import { costSegments, type CostPlan, type CostSegment, type CostTable } from '../../core/cost-plan.js'
import type { CostReader } from '../../core/ports/cost-reader.js'
import type { StoreClient } from './client.js'

/**
 * The CostReader port on ClickHouse: each part of the range from the coarsest table that answers it
 * (core/cost-plan.ts `costSegments`), or only `plan.source` when the plan has no minute bound.
 */
export function clickHouseCostReader(store: StoreClient): CostReader {
  return {
    cost: (q, plan) =>
      plan.minuteFromMs === undefined
        ? queryCost(store.client, store.database, q, plan)
        : queryCostSegments(
            store.client,
            store.database,
            q,
            costSegments(plan, costNeeds(q), plan.minuteFromMs, q.customer !== undefined),
          ),
  }
}

/** The dimensions a query groups by or filters on. */
export function costNeeds(q: CostQuery): string[] {
  return [...new Set([...q.group_by, ...ATTRIBUTE_DIMENSIONS.filter((d) => q[d] !== undefined)])]
}

const BUCKET: Record<CostTable, string> = {
  spend_by_customer_day: 'day',
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
 * Cost grouped by the query's dimensions over the plan's range from `plan.source` alone, most expensive
 * first. An empty `group_by` answers one row: the sums over the whole range (also when nothing matched).
 */
export function queryCost(
  client: ClickHouseClient,
  database: string,
  q: CostQuery,
  plan: Pick<CostPlan, 'fromMs' | 'toMs' | 'source'>,
): Promise<CostRow[]> {
  return queryCostSegments(client, database, q, [
    { table: plan.source, fromMs: plan.fromMs, toMs: plan.toMs },
  ])
}

/** The WHERE of one segment and its parameters (named `_i` apart when `i` is given). */
function segmentWhere(q: CostQuery, seg: CostSegment, i: number, params: Record<string, unknown>): string {
  const bucket = BUCKET[seg.table]
  params[`from${i}`] = seg.fromMs
  params[`to${i}`] = seg.toMs
  const where = [
    `${bucket} >= fromUnixTimestamp64Milli({from${i}:Int64}, 'UTC')`,
    `${bucket} < fromUnixTimestamp64Milli({to${i}:Int64}, 'UTC')`,
  ]
  for (const d of ATTRIBUTE_DIMENSIONS) {
    const v = q[d]
    if (v === undefined) continue
    where.push(filterSql(d))
    params[d] = v
  }
  return where.join(' AND ')
}

/** The sums of a table, named `${prefix}_x`. */
function sumsSql(table: CostTable, prefix: string, toFloat: boolean): string {
  const cost = toFloat ? 'toFloat64(sum(cost_usd))' : 'sum(cost_usd)'
  return table === 'requests'
    ? `${cost} AS ${prefix}_cost_usd, count() AS ${prefix}_requests, countIf(status = 'failure') AS ${prefix}_failures,
       sum(input_tokens) AS ${prefix}_input_tokens, sum(output_tokens) AS ${prefix}_output_tokens, sum(cached_tokens) AS ${prefix}_cached_tokens`
    : `${cost} AS ${prefix}_cost_usd, sum(requests) AS ${prefix}_requests, sum(failures) AS ${prefix}_failures,
       sum(input_tokens) AS ${prefix}_input_tokens, sum(output_tokens) AS ${prefix}_output_tokens, sum(cached_tokens) AS ${prefix}_cached_tokens`
}

/**
 * Cost grouped by the query's dimensions over the segments (core/cost-plan.ts `costSegments`), most
 * expensive first: one segment is one grouped read; several are read each (exact decimal sums) and
 * summed again, so the answer equals a read of raw rows over the whole range.
 */
export async function queryCostSegments(
  client: ClickHouseClient,
  database: string,
  q: CostQuery,
  segments: readonly CostSegment[],
): Promise<CostRow[]> {
  const params: Record<string, unknown> = { limit: q.limit }
  // every output column has a prefixed alias (d_ dimension, a_ attribute, s_ sum, i_ inner sum): an alias
  // equal to a column name (hour, cost_usd) would replace that column in WHERE and inside the aggregates
  const groupKeys = q.group_by.map((d) => `d_${d}`)
  const grouped = groupKeys.length
    ? `
GROUP BY ${groupKeys.join(', ')}
ORDER BY s_cost_usd DESC, ${groupKeys.join(', ')}
LIMIT {limit:UInt32}`
    : ''
  let query: string
  if (segments.length === 1) {
    const seg = segments[0]!
    const bucket = BUCKET[seg.table]
    query = `SELECT ${[...q.group_by.map((d) => dimensionSql(d, bucket)), ''].join(', ')}
       ${sumsSql(seg.table, 's', true)}
FROM ${database}.${seg.table}
WHERE ${segmentWhere(q, seg, 0, params)}${grouped}`
  } else {
    const parts = segments.map((seg, i) => {
      const bucket = BUCKET[seg.table]
      const dims = q.group_by.map((d) =>
        d === 'key' ? 'api_key_hash AS d_key, any(api_key_alias) AS i_key_alias' : dimensionSql(d, bucket),
      )
      return `SELECT ${[...dims, ''].join(', ')}${sumsSql(seg.table, 'i', false)}
FROM ${database}.${seg.table}
WHERE ${segmentWhere(q, seg, i, params)}${groupKeys.length ? `\nGROUP BY ${groupKeys.join(', ')}` : ''}`
    })
    const outer = q.group_by.map((d) => (d === 'key' ? 'd_key, any(i_key_alias) AS a_key_alias' : `d_${d}`))
    query = `SELECT ${[...outer, ''].join(', ')}
       toFloat64(sum(i_cost_usd)) AS s_cost_usd, sum(i_requests) AS s_requests, sum(i_failures) AS s_failures,
       sum(i_input_tokens) AS s_input_tokens, sum(i_output_tokens) AS s_output_tokens, sum(i_cached_tokens) AS s_cached_tokens
FROM (
${parts.join('\nUNION ALL\n')}
)${grouped}`
  }
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
