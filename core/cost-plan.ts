import type { CostQuery } from '../schemas/api.js'
import { previousRange, resolvePeriod, type Range } from './cost-period.js'

/** Which table answers a cost query. */
export type CostSource = 'spend_by_hour' | 'spend_by_minute' | 'requests'

/** A resolved cost query: half-open range [fromMs, toMs) and the cheapest exact source for it. */
export interface CostPlan {
  fromMs: number
  toMs: number
  source: CostSource
  /** The range `compare=previous` compares against (same length; for a named period, see cost-period.ts). */
  previous: Range
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** First instant of the calendar month (UTC) holding `nowMs`, and of the next one. */
export function currentMonthUtc(nowMs: number): [number, number] {
  const d = new Date(nowMs)
  return [
    Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
    Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
  ]
}

/** The cheapest table that answers [fromMs, toMs) exactly. */
export function costSource(r: Range, nowMs: number, minuteRollupDays: number): CostSource {
  if (r.fromMs % HOUR === 0 && r.toMs % HOUR === 0) return 'spend_by_hour'
  if (
    r.fromMs % MINUTE === 0 &&
    r.toMs % MINUTE === 0 &&
    r.fromMs >= nowMs - (minuteRollupDays - 1) * 24 * HOUR
  )
    return 'spend_by_minute'
  return 'requests'
}

/**
 * Resolves the range (a named `period` in `timezone`; else from/to; neither = current UTC month) and
 * picks the source: the hourly rollup when both ends are whole hours, the minute rollup when whole
 * minutes inside its retention, raw rows otherwise. Every source gives the same sums for the same range
 * (tested).
 */
export function planCostQuery(
  q: Pick<CostQuery, 'from' | 'to'> & Partial<Pick<CostQuery, 'period' | 'timezone'>>,
  nowMs: number,
  minuteRollupDays: number,
): CostPlan | { error: string } {
  let r: Range
  let previous: Range
  if (q.period) {
    const p = resolvePeriod(q.period, q.timezone ?? 'UTC', nowMs)
    r = { fromMs: p.fromMs, toMs: p.toMs }
    previous = p.previous
  } else {
    const [monthStart, monthEnd] = currentMonthUtc(nowMs)
    const fromMs = q.from ? Date.parse(q.from) : monthStart
    const toMs = q.to ? Date.parse(q.to) : q.from ? nowMs + MINUTE : monthEnd
    r = { fromMs, toMs }
    previous =
      q.from || q.to ? previousRange(r) : { fromMs: currentMonthUtc(monthStart - 1)[0], toMs: monthStart }
  }
  if (!(r.toMs > r.fromMs))
    return {
      error: `'to' (${new Date(r.toMs).toISOString()}) must be after 'from' (${new Date(r.fromMs).toISOString()})`,
    }
  return { ...r, source: costSource(r, nowMs, minuteRollupDays), previous }
}

/** The plan of the comparison range of `plan` (`compare=previous`). */
export function previousPlan(plan: CostPlan, nowMs: number, minuteRollupDays: number): CostPlan {
  const r = plan.previous
  return { ...r, source: costSource(r, nowMs, minuteRollupDays), previous: previousRange(r) }
}
