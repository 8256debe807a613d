import { OTHER, type CostDimension, type CostRow } from '../schemas/api.js'

/** The summed columns of a cost row, in answer order. */
export const COST_SUMS = [
  'cost_usd',
  'requests',
  'failures',
  'input_tokens',
  'output_tokens',
  'cached_tokens',
] as const

/** The columns `compare=previous` adds to each row. */
export const COMPARE_COLUMNS = ['previous_cost_usd', 'delta_usd', 'delta_pct'] as const

/** Cost as the API answers it: Decimal sums read as float, rounded to 10 places (the column's scale). */
export const roundUsd = (v: number): number => Math.round(v * 1e10) / 1e10

/** The columns of a cost answer's rows for `dims`: dimensions (key brings its alias), sums, comparison. */
export function costColumns(dims: readonly CostDimension[], compared: boolean): string[] {
  return [
    ...dims.flatMap((d) => (d === 'key' ? ['key', 'key_alias'] : [d])),
    ...COST_SUMS,
    ...(compared ? COMPARE_COLUMNS : []),
  ]
}

/** Identity of a row among rows of the same group-by (its dimension values). */
export const rowKey = (row: CostRow, dims: readonly CostDimension[]): string =>
  JSON.stringify(dims.map((d) => row[d] ?? ''))

/** `a - b` for every sum; dimensions from `dimsFrom`. */
function minus(a: CostRow, b: CostRow, dimsFrom: Record<string, string | number | null>): CostRow {
  const out: CostRow = { ...dimsFrom, ...a }
  for (const s of COST_SUMS) out[s] = s === 'cost_usd' ? roundUsd(a[s] - b[s]) : a[s] - b[s]
  return out
}

/** The sums of `rows` (no dimensions). */
export function sumRows(rows: readonly CostRow[]): CostRow {
  const out: CostRow = {
    cost_usd: 0,
    requests: 0,
    failures: 0,
    input_tokens: 0,
    output_tokens: 0,
    cached_tokens: 0,
  }
  for (const r of rows) for (const s of COST_SUMS) out[s] += r[s]
  out.cost_usd = roundUsd(out.cost_usd)
  return out
}

/** A row with `previous` cost attached: `previous_cost_usd`, `delta_usd`, `delta_pct` (null from 0). */
export function withComparison(row: CostRow, previousCostUsd: number): CostRow {
  const delta = roundUsd(row.cost_usd - previousCostUsd)
  return {
    ...row,
    previous_cost_usd: previousCostUsd,
    delta_usd: delta,
    delta_pct: previousCostUsd === 0 ? null : Math.round((delta / previousCostUsd) * 1e4) / 1e2,
  }
}

/** The rows and total of one range, as the store answered them. */
export interface CostRead {
  rows: CostRow[]
  total: CostRow
}

/**
 * Shapes a cost answer from what the store read: with `top`, the first `top` rows and one `(other)` row
 * holding `total` minus them (exact whatever the row limit cut); with `previous`, every row gains the
 * previous period's cost and the change, and (without `top`) groups that spent only in the previous
 * period are listed after the others with zero sums. `rows` MUST be most expensive first, and hold
 * `top + 1` rows when more than `top` groups exist.
 */
export function shapeCost(
  current: CostRead,
  opts: { dims: readonly CostDimension[]; top?: number; limit: number; previous?: CostRead },
): CostRead {
  const { dims, top, previous } = opts
  const prevByKey = new Map((previous?.rows ?? []).map((r) => [rowKey(r, dims), r]))
  const prevCost = (r: CostRow) => prevByKey.get(rowKey(r, dims))?.cost_usd ?? 0
  const compare = (r: CostRow, p: number) => (previous ? withComparison(r, p) : r)

  if (top !== undefined) {
    const kept = current.rows.slice(0, top)
    const rows = kept.map((r) => compare(r, prevCost(r)))
    if (current.rows.length > top) {
      const other = minus(current.total, sumRows(kept), Object.fromEntries(dims.map((d) => [d, OTHER])))
      if (dims.includes('key')) other.key_alias = ''
      const prevOther = previous
        ? roundUsd(
            previous.total.cost_usd - sumRows(kept.map((r) => ({ ...r, cost_usd: prevCost(r) }))).cost_usd,
          )
        : 0
      rows.push(compare(other, prevOther))
    }
    return { rows, total: compare(current.total, previous?.total.cost_usd ?? 0) }
  }

  const rows = current.rows.map((r) => compare(r, prevCost(r)))
  if (previous) {
    const seen = new Set(current.rows.map((r) => rowKey(r, dims)))
    for (const p of previous.rows) {
      if (seen.has(rowKey(p, dims))) continue
      const zero: CostRow = { ...p, ...sumRows([]) }
      rows.push(withComparison(zero, p.cost_usd))
    }
  }
  return { rows: rows.slice(0, opts.limit), total: compare(current.total, previous?.total.cost_usd ?? 0) }
}
