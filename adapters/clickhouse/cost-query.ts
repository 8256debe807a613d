import type { ClickHouseClient } from '@clickhouse/client'
import { ATTRIBUTE_DIMENSIONS, type CostDimension, type CostQuery, type CostRow } from '../../schemas/api.js'
import { costSegments, type CostPlan, type CostSegment, type CostTable } from '../../core/cost-plan.js'
import { COST_SUMS, roundUsd, sumRows, type CostRead } from '../../core/cost-rows.js'
import type { CostReader } from '../../core/ports/cost-reader.js'
import type { StoreClient } from './client.js'

/**
 * The CostReader port on ClickHouse: each part of the range from the coarsest table that answers it
 * (core/cost-plan.ts `costSegments`), or only `plan.source` when the plan has no minute bound. Reads go
 * through `store.reads` (on the embedded engine the lane that yields to ingest, store-lanes.ts).
 */
export function clickHouseCostReader(store: StoreClient): CostReader {
  const client = store.reads ?? store.client
  const segments = (q: CostQuery, plan: Parameters<CostReader['cost']>[1]): CostSegment[] =>
    plan.minuteFromMs === undefined
      ? [{ table: plan.source, fromMs: plan.fromMs, toMs: plan.toMs }]
      : costSegments(plan, costNeeds(q), plan.minuteFromMs, q.customer !== undefined)
  return {
    cost: (q, plan) => queryCostSegments(client, store.database, q, segments(q, plan)),
    costWithTotal: (q, plan) => queryCostWithTotal(client, store.database, q, segments(q, plan)),
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

/**
 * The WHERE of the parts of a range read from one table (`ranges`, disjoint: one condition per range,
 * OR-ed) and the query's filters, with their parameters (named `_i` apart by each range's index `i`).
 * A rollup's bucket is a whole-second DateTime: it is compared with whole seconds (a bucket b >= x ms
 * exactly when b >= ceil(x / 1000) s, and b < y ms when b < ceil(y / 1000) s), not with a DateTime64,
 * which would convert every row's bucket (~a quarter of a month's customer-day read, chdb 3.4). toDateTime
 * of an Int64 saturates at the type's ends (before 1970, after 2106), which keeps both comparisons exact.
 */
function segmentWhere(
  q: CostQuery,
  table: CostTable,
  ranges: ReadonlyArray<{ fromMs: number; toMs: number; i: number }>,
  params: Record<string, unknown>,
): string {
  const bucket = BUCKET[table]
  const raw = table === 'requests'
  const conds = ranges.map(({ fromMs, toMs, i }) => {
    params[`from${i}`] = raw ? fromMs : Math.ceil(fromMs / 1000)
    params[`to${i}`] = raw ? toMs : Math.ceil(toMs / 1000)
    const at = (name: string) =>
      raw ? `fromUnixTimestamp64Milli({${name}:Int64}, 'UTC')` : `toDateTime({${name}:Int64}, 'UTC')`
    return `${bucket} >= ${at(`from${i}`)} AND ${bucket} < ${at(`to${i}`)}`
  })
  const where = [conds.length === 1 ? conds[0]! : `(${conds.map((c) => `(${c})`).join(' OR ')})`]
  for (const d of ATTRIBUTE_DIMENSIONS) {
    const v = q[d]
    if (v === undefined) continue
    where.push(filterSql(d))
    params[d] = v
  }
  return where.join(' AND ')
}

/** The segments grouped by table, in order of first appearance, each range with its segment index. */
function byTable(
  segments: readonly CostSegment[],
): Array<{ table: CostTable; ranges: Array<{ fromMs: number; toMs: number; i: number }> }> {
  const out = new Map<CostTable, Array<{ fromMs: number; toMs: number; i: number }>>()
  segments.forEach((seg, i) => {
    const ranges = out.get(seg.table) ?? []
    ranges.push({ fromMs: seg.fromMs, toMs: seg.toMs, i })
    out.set(seg.table, ranges)
  })
  return [...out].map(([table, ranges]) => ({ table, ranges }))
}

type SumField = (typeof COST_SUMS)[number]

/** The aggregate of each sum over a table's rows, or over the inner sums (`i_x`) in the outer query. */
function aggregates(from: CostTable | 'inner'): Record<SumField, string> {
  if (from === 'inner')
    return Object.fromEntries(COST_SUMS.map((f) => [f, `sum(i_${f})`])) as Record<SumField, string>
  const raw = from === 'requests'
  return {
    cost_usd: 'sum(cost_usd)',
    requests: raw ? 'count()' : 'sum(requests)',
    failures: raw ? "countIf(status = 'failure')" : 'sum(failures)',
    input_tokens: 'sum(input_tokens)',
    output_tokens: 'sum(output_tokens)',
    cached_tokens: 'sum(cached_tokens)',
  }
}

/** The sums, named `${prefix}_x` (cost as Float64 with `toFloat`). */
function sumsSql(from: CostTable | 'inner', prefix: string, toFloat: boolean): string {
  const aggs = aggregates(from)
  return COST_SUMS.map((f) => {
    const agg = f === 'cost_usd' && toFloat ? `toFloat64(${aggs[f]})` : aggs[f]
    return `${agg} AS ${prefix}_${f}`
  }).join(', ')
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
  const { query, params } = costSql(database, q, segments, false)
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' })
  return costRows(await rs.json<Record<string, string | number>>())
}

/**
 * `queryCostSegments` with a non-empty `group_by`, plus the total over every group in the same read:
 * `WITH TOTALS` (computed over every group, before ORDER BY and LIMIT), in the JSON format, which carries
 * it apart from the rows. It replaced a window (`sum(...) OVER ()`) on every grouped row: ~5 ms of a
 * customer's month (17 ms) and more on a top 20 over 10,000 customers (chdb 3.4, 10M events). chdb 3.4
 * prints the totals before the data when no row matches (not JSON); that answer is re-read as rows and a
 * plain total (an empty answer costs little to read twice).
 */
export async function queryCostWithTotal(
  client: ClickHouseClient,
  database: string,
  q: CostQuery,
  segments: readonly CostSegment[],
): Promise<CostRead> {
  if (q.group_by.length === 0) throw new Error('a total needs a group_by')
  const { query, params } = costSql(database, q, segments, true)
  const rs = await client.query({ query, query_params: params, format: 'JSON' })
  const text = await rs.text()
  let doc: { data: Array<Record<string, string | number>>; totals?: Record<string, string | number> }
  try {
    doc = JSON.parse(text) as typeof doc
  } catch {
    const [rows, [total]] = await Promise.all([
      queryCostSegments(client, database, q, segments),
      queryCostSegments(client, database, { ...q, group_by: [] }, segments),
    ])
    return { rows, total: total ?? sumRows([]) }
  }
  return { rows: costRows(doc.data), total: doc.totals ? costSums(doc.totals) : sumRows([]) }
}

/** The SELECT of a cost read over `segments` (see `queryCostSegments`), `WITH TOTALS` when asked. */
function costSql(
  database: string,
  q: CostQuery,
  segments: readonly CostSegment[],
  totals: boolean,
): { query: string; params: Record<string, unknown> } {
  const params: Record<string, unknown> = { limit: q.limit }
  // every output column has a prefixed alias (d_ dimension, a_ attribute, s_ sum, i_ inner sum): an alias
  // equal to a column name (hour, cost_usd) would replace that column in WHERE and inside the aggregates
  const groupKeys = q.group_by.map((d) => `d_${d}`)
  const grouped = groupKeys.length
    ? `
GROUP BY ${groupKeys.join(', ')}${totals ? ' WITH TOTALS' : ''}
ORDER BY s_cost_usd DESC, ${groupKeys.join(', ')}
LIMIT {limit:UInt32}`
    : ''
  // one read per table: the edges of a range often come from the same finer table (each read of a table
  // has a fixed cost of its own)
  const reads = byTable(segments)
  let query: string
  if (reads.length === 1) {
    const { table, ranges } = reads[0]!
    const bucket = BUCKET[table]
    query = `SELECT ${[...q.group_by.map((d) => dimensionSql(d, bucket)), ''].join(', ')}
       ${sumsSql(table, 's', true)}
FROM ${database}.${table}
WHERE ${segmentWhere(q, table, ranges, params)}${grouped}`
  } else {
    const parts = reads.map(({ table, ranges }) => {
      const bucket = BUCKET[table]
      const dims = q.group_by.map((d) =>
        d === 'key' ? 'api_key_hash AS d_key, any(api_key_alias) AS i_key_alias' : dimensionSql(d, bucket),
      )
      return `SELECT ${[...dims, ''].join(', ')}${sumsSql(table, 'i', false)}
FROM ${database}.${table}
WHERE ${segmentWhere(q, table, ranges, params)}${groupKeys.length ? `\nGROUP BY ${groupKeys.join(', ')}` : ''}`
    })
    const outer = q.group_by.map((d) => (d === 'key' ? 'd_key, any(i_key_alias) AS a_key_alias' : `d_${d}`))
    query = `SELECT ${[...outer, ''].join(', ')}
       ${sumsSql('inner', 's', true)}
FROM (
${parts.join('\nUNION ALL\n')}
)${grouped}`
  }
  return { query, params }
}

/**
 * The answered rows: dimensions first (`d_`/`a_` columns, in SELECT order), then the sums (64-bit sums
 * arrive quoted). The column names are read once from the first row: every row has the same columns, and
 * re-deriving them per row (entries, prefix tests, sliced keys) was most of a 363-row answer's JS time.
 */
function costRows(rows: ReadonlyArray<Record<string, string | number>>): CostRow[] {
  if (rows.length === 0) return []
  const dimColumns = Object.keys(rows[0]!).filter((k) => k.startsWith('d_') || k.startsWith('a_'))
  const dimNames = dimColumns.map((k) => k.slice(2))
  const sumColumns = COST_SUMS.map((f) => `s_${f}`)
  return rows.map((r) => {
    const out: Record<string, string | number> = {}
    for (let i = 0; i < dimColumns.length; i++) out[dimNames[i]!] = r[dimColumns[i]!]!
    for (let i = 0; i < COST_SUMS.length; i++) out[COST_SUMS[i]!] = Number(r[sumColumns[i]!] ?? 0)
    out.cost_usd = roundUsd(out.cost_usd as number)
    return out as CostRow
  })
}

/** The sums of an answered row or of the totals row (`s_` columns). */
function costSums(r: Record<string, string | number>): CostRow {
  const sums = sumRows([])
  for (const f of COST_SUMS) sums[f] = Number(r[`s_${f}`] ?? 0)
  sums.cost_usd = roundUsd(sums.cost_usd)
  return sums
}
