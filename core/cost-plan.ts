import type { CostQuery } from '../schemas/api.js'

/** Which table answers a cost query. */
export type CostSource = 'spend_by_hour' | 'spend_by_minute' | 'requests'

/** A resolved cost query: half-open range [fromMs, toMs) and the cheapest exact source for it. */
export interface CostPlan {
  fromMs: number
  toMs: number
  source: CostSource
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

/**
 * Resolves the range (missing from/to = current UTC month) and picks the source: the hourly rollup when
 * both ends are whole hours, the minute rollup when whole minutes inside its retention, raw rows otherwise.
 * Every source gives the same sums for the same range (tested).
 */
export function planCostQuery(
  q: Pick<CostQuery, 'from' | 'to'>,
  nowMs: number,
  minuteRollupDays: number,
): CostPlan | { error: string } {
  const [monthStart, monthEnd] = currentMonthUtc(nowMs)
  const fromMs = q.from ? Date.parse(q.from) : monthStart
  const toMs = q.to ? Date.parse(q.to) : q.from ? nowMs + MINUTE : monthEnd
  if (!(toMs > fromMs))
    return {
      error: `'to' (${new Date(toMs).toISOString()}) must be after 'from' (${new Date(fromMs).toISOString()})`,
    }
  let source: CostSource = 'requests'
  if (fromMs % HOUR === 0 && toMs % HOUR === 0) source = 'spend_by_hour'
  else if (
    fromMs % MINUTE === 0 &&
    toMs % MINUTE === 0 &&
    fromMs >= nowMs - (minuteRollupDays - 1) * 24 * HOUR
  )
    source = 'spend_by_minute'
  return { fromMs, toMs, source }
}
