import type { CostAnswer, CostDimension, CostRow } from '../../schemas/api.js'
import { renderTable, type Column } from './table.js'

/** Dollars as the CLI prints them: 4 decimals, no grouping (so the numbers stay machine-readable). */
export const usd = (v: number): string => v.toFixed(4)

const cellOf = (row: CostRow, d: CostDimension): string => {
  const v = row[d]
  const s = v === '' || v === null || v === undefined ? '(none)' : String(v)
  // a key hash is 64 hex digits: its alias first, and enough of the hash to tell keys apart
  return d === 'key' && row.key_alias ? `${String(row.key_alias)} (${s.slice(0, 12)})` : s
}

const SUMS: ReadonlyArray<[keyof CostRow & string, string, (r: CostRow) => string]> = [
  ['cost_usd', 'cost_usd', (r) => usd(r.cost_usd)],
  ['requests', 'requests', (r) => String(r.requests)],
  ['failures', 'failures', (r) => String(r.failures)],
  ['input_tokens', 'input_tokens', (r) => String(r.input_tokens)],
  ['output_tokens', 'output_tokens', (r) => String(r.output_tokens)],
]
const COMPARED: ReadonlyArray<[string, (r: CostRow) => string]> = [
  ['previous_usd', (r) => usd(Number(r.previous_cost_usd ?? 0))],
  ['delta_usd', (r) => usd(Number(r.delta_usd ?? 0))],
  ['delta_pct', (r) => (typeof r.delta_pct === 'number' ? `${r.delta_pct.toFixed(2)}%` : 'new')],
]

/**
 * A cost answer as an aligned table: a title line with the range, one line per row, and the total
 * under a rule. `(none)` marks an empty dimension value (customer "" = unattributed).
 */
export function costTable(answer: CostAnswer, dims: readonly CostDimension[]): string {
  const compared = answer.previous !== undefined
  const columns: Column[] = [
    ...dims.map((d) => ({ header: d })),
    ...SUMS.map(([, h]) => ({ header: h, right: true })),
    ...(compared ? COMPARED.map(([h]) => ({ header: h, right: true })) : []),
  ]
  const line = (r: CostRow, label?: string) => [
    ...dims.map((d, i) => (label === undefined ? cellOf(r, d) : i === 0 ? label : '')),
    ...SUMS.map(([, , f]) => f(r)),
    ...(compared ? COMPARED.map(([, f]) => f(r)) : []),
  ]
  const period = answer.period ? `${answer.period}, ` : ''
  const title =
    `cost ${answer.from} .. ${answer.to} (${period}${answer.timezone})` +
    (answer.previous ? ` compared with ${answer.previous.from} .. ${answer.previous.to}` : '')
  return `${title}\n${renderTable(
    columns,
    answer.rows.map((r) => line(r)),
    [line(answer.total, 'total')],
  )}`
}
