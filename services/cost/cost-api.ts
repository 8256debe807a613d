import { planCostQuery, previousPlan, type CostPlan } from '../../core/cost-plan.js'
import { shapeCost, sumRows, type CostRead } from '../../core/cost-rows.js'
import type { CostReader } from '../../core/ports/cost-reader.js'
import type { CostAnswer, CostQuery } from '../../schemas/api.js'

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * The cost API behind `GET /api/cost` and `gatewarden cost`: plans the range, reads the rows and the
 * total (and the previous period's with `compare=previous`), then folds `top` and the comparison (pure,
 * core/cost-rows.ts). The HTTP route and the CLI's `--store` mode both answer through this one function,
 * so their numbers cannot differ.
 */
export function costApi(reader: CostReader, now: () => number, minuteRollupDays: number) {
  async function readRange(q: CostQuery, plan: CostPlan, limit: number): Promise<CostRead> {
    if (reader.costWithTotal && q.group_by.length > 0) return reader.costWithTotal({ ...q, limit }, plan)
    const [rows, totals] = await Promise.all([
      reader.cost({ ...q, limit }, plan),
      reader.cost({ ...q, group_by: [] }, plan),
    ])
    return { rows, total: totals[0] ?? sumRows([]) }
  }
  return async (q: CostQuery): Promise<CostAnswer | { error: string }> => {
    const nowMs = now()
    const plan = planCostQuery(q, nowMs, minuteRollupDays)
    if ('error' in plan) return plan
    const current = await readRange(q, plan, q.top !== undefined ? q.top + 1 : q.limit)
    const prev = q.compare === 'previous' ? previousPlan(plan, nowMs, minuteRollupDays) : undefined
    const previous = prev ? await readRange(q, prev, q.limit) : undefined
    const shaped = shapeCost(current, { dims: q.group_by, top: q.top, limit: q.limit, previous })
    return {
      rows: shaped.rows,
      total: shaped.total,
      from: iso(plan.fromMs),
      to: iso(plan.toMs),
      source: plan.source,
      timezone: q.timezone,
      ...(q.period ? { period: q.period } : {}),
      ...(prev ? { previous: { from: iso(prev.fromMs), to: iso(prev.toMs), source: prev.source } } : {}),
    }
  }
}
