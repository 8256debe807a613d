import { z } from 'zod'
import { TimeZone } from './policy.js'

/**
 * Attribution dimensions of the cost API: each one groups (`group_by`) and filters (`?<name>=value`).
 * `key` is the API key hash (its alias comes along, and its filter matches either). Adding a dimension
 * is one entry here, once the rollups carry a column of the same name.
 */
export const ATTRIBUTE_DIMENSIONS = [
  'customer',
  'team',
  'key',
  'endpoint',
  'agent',
  'model',
  'model_requested',
  'provider',
  'tier',
] as const
export type AttributeDimension = (typeof ATTRIBUTE_DIMENSIONS)[number]

/** Dimensions the cost API groups by: the attribution dimensions, then time buckets (UTC). */
export const CostDimension = z.enum([...ATTRIBUTE_DIMENSIONS, 'day', 'hour'])
export type CostDimension = z.infer<typeof CostDimension>

/** Named ranges of the cost API, resolved in the query's `timezone` (core/cost-period.ts). */
export const CostPeriod = z.enum([
  'this_month',
  'last_month',
  'mtd',
  'last_7d',
  'last_30d',
  'today',
  'yesterday',
])
export type CostPeriod = z.infer<typeof CostPeriod>

const csv = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(item),
  )

const Iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 date or date-time')

const Filter = z.string().max(1024).optional()
const filters = Object.fromEntries(ATTRIBUTE_DIMENSIONS.map((d) => [d, Filter])) as {
  [K in AttributeDimension]: typeof Filter
}

/**
 * Query of GET /api/cost. The range is `from`/`to`, or a `period` in `timezone`; neither = the current
 * calendar month (UTC). `top` keeps the N most expensive rows and sums the rest into one `(other)` row;
 * `compare=previous` adds the previous period's numbers to each row; `format=csv` answers CSV.
 */
export const CostQuery = z
  .strictObject({
    group_by: csv(CostDimension).pipe(z.array(CostDimension).min(1).max(6)).default(['customer']),
    from: Iso.optional(),
    to: Iso.optional(),
    period: CostPeriod.optional(),
    timezone: TimeZone.default('UTC'),
    ...filters,
    top: z.coerce.number().int().min(1).max(1000).optional(),
    compare: z.enum(['previous']).optional(),
    format: z.enum(['json', 'csv']).default('json'),
    limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
  })
  .refine((q) => new Set(q.group_by).size === q.group_by.length, {
    message: 'group_by repeats a dimension',
    path: ['group_by'],
  })
  .refine((q) => !(q.period && (q.from || q.to)), {
    message: 'give either period or from/to, not both',
    path: ['period'],
  })
export type CostQuery = z.infer<typeof CostQuery>

/** One row of the cost answer: the group-by dimensions plus the sums. */
export interface CostRow {
  /** Dimension values (strings), the sums, and with `compare=previous` the comparison (delta_pct may be null). */
  [dimension: string]: string | number | null
  cost_usd: number
  requests: number
  failures: number
  input_tokens: number
  output_tokens: number
  cached_tokens: number
}

/** A cost row of an answer with `compare=previous`: the previous period's cost and the change. */
export interface ComparedCostRow extends CostRow {
  previous_cost_usd: number
  delta_usd: number
  /** Change relative to the previous cost, in percent; null when the previous cost was 0. */
  delta_pct: number | null
}

/** The dimension value of the row that sums everything past `top`. */
export const OTHER = '(other)'

/** Answer of GET /api/cost (JSON). */
export interface CostAnswer {
  rows: CostRow[]
  /** Sums over every matching event of the range, whatever `limit` and `top` kept. */
  total: CostRow
  from: string
  to: string
  source: string
  timezone: string
  period?: CostPeriod
  /** With `compare=previous`: the range compared against. */
  previous?: { from: string; to: string; source: string }
}
