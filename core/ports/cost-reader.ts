import type { CostQuery, CostRow } from '../../schemas/api.js'
import type { CostPlan } from '../cost-plan.js'

/**
 * Cost as the API answers it (implemented by `adapters/clickhouse/cost-query.ts`).
 * MUST: rows grouped by `q.group_by` over `[plan.fromMs, plan.toMs)` read from `plan.source`, every
 * filter of `q` applied as a bound parameter, most expensive first, at most `q.limit` rows.
 */
export interface CostReader {
  cost(q: CostQuery, plan: CostPlan): Promise<CostRow[]>
}
