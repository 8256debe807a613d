import { z } from 'zod'

/** Dimensions the cost API groups by. `key` is the API key hash (its alias comes along). */
export const CostDimension = z.enum([
  'customer',
  'team',
  'key',
  'endpoint',
  'agent',
  'model',
  'model_requested',
  'provider',
  'tier',
  'day',
  'hour',
])
export type CostDimension = z.infer<typeof CostDimension>

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

/** Query of GET /api/cost. Missing from/to = the current calendar month (UTC). */
export const CostQuery = z
  .strictObject({
    group_by: csv(CostDimension).pipe(z.array(CostDimension).min(1).max(6)).default(['customer']),
    from: Iso.optional(),
    to: Iso.optional(),
    customer: z.string().max(1024).optional(),
    team: z.string().max(1024).optional(),
    key: z.string().max(1024).optional(),
    endpoint: z.string().max(1024).optional(),
    agent: z.string().max(1024).optional(),
    model: z.string().max(1024).optional(),
    tier: z.string().max(1024).optional(),
    limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
  })
  .refine((q) => new Set(q.group_by).size === q.group_by.length, {
    message: 'group_by repeats a dimension',
    path: ['group_by'],
  })
export type CostQuery = z.infer<typeof CostQuery>

/** One row of the cost answer: the group-by dimensions plus the sums. */
export interface CostRow {
  [dimension: string]: string | number
  cost_usd: number
  requests: number
  failures: number
  input_tokens: number
  output_tokens: number
  cached_tokens: number
}
