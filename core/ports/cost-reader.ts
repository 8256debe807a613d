import type { CostQuery, CostRow } from '../../schemas/api.js'
import type { CostPlan } from '../cost-plan.js'
import type { CostRead } from '../cost-rows.js'

/**
 * Cost as the API answers it (implemented by `adapters/clickhouse/cost-query.ts`).
 * MUST: rows grouped by `q.group_by` over `[plan.fromMs, plan.toMs)`, the sums raw rows give (read from
 * `plan.source`, or with `plan.minuteFromMs` from the coarsest table for each part of the range), every
 * filter of `q` applied as a bound parameter, most expensive first, at most `q.limit` rows; an empty `group_by` answers one totals row.
 */
export interface CostReader {
  cost(
    q: CostQuery,
    plan: Pick<CostPlan, 'fromMs' | 'toMs' | 'source'> & Partial<Pick<CostPlan, 'minuteFromMs'>>,
  ): Promise<CostRow[]>
  /**
   * Optional: `cost` with a non-empty `group_by` and, in the same read, the total over every group (not
   * only the `limit` returned): what `cost` with `group_by: []` answers. One scan instead of two.
   */
  costWithTotal?(
    q: CostQuery,
    plan: Pick<CostPlan, 'fromMs' | 'toMs' | 'source'> & Partial<Pick<CostPlan, 'minuteFromMs'>>,
  ): Promise<CostRead>
}
