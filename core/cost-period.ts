import { DateTime } from 'luxon'
import type { CostPeriod } from '../schemas/api.js'

/** A half-open range [fromMs, toMs). */
export interface Range {
  fromMs: number
  toMs: number
}

/** A named period resolved to instants, with the period it is compared against (`compare=previous`). */
export interface ResolvedPeriod extends Range {
  previous: Range
}

const HOUR = 3_600_000

const range = (from: DateTime, to: DateTime): Range => ({ fromMs: from.toMillis(), toMs: to.toMillis() })

/**
 * Resolves a named period at `nowMs` in `timezone` (calendar days and months of that zone, DST included).
 * Whole days and months; `mtd` ends at the next whole hour (nothing is stored past now) and is compared
 * with the previous month up to the same day and time. `last_7d` / `last_30d` are the whole days before
 * today. The previous period of a month is the previous calendar month, of N days the N days before.
 */
export function resolvePeriod(period: CostPeriod, timezone: string, nowMs: number): ResolvedPeriod {
  const now = DateTime.fromMillis(nowMs, { zone: timezone })
  const today = now.startOf('day')
  const month = now.startOf('month')
  const days = (end: DateTime, n: number): ResolvedPeriod => ({
    ...range(end.minus({ days: n }), end),
    previous: range(end.minus({ days: 2 * n }), end.minus({ days: n })),
  })
  switch (period) {
    case 'today':
      return days(today.plus({ days: 1 }), 1)
    case 'yesterday':
      return days(today, 1)
    case 'last_7d':
      return days(today, 7)
    case 'last_30d':
      return days(today, 30)
    case 'this_month':
      return {
        ...range(month, month.plus({ months: 1 })),
        previous: range(month.minus({ months: 1 }), month),
      }
    case 'last_month':
      return {
        ...range(month.minus({ months: 1 }), month),
        previous: range(month.minus({ months: 2 }), month.minus({ months: 1 })),
      }
    case 'mtd': {
      const toMs = Math.floor(nowMs / HOUR) * HOUR + HOUR
      const prevMonth = month.minus({ months: 1 })
      // the same offset into the previous month, clamped to its end (31 March -> 30 April's end)
      const prevEnd = DateTime.min(
        prevMonth.plus(
          DateTime.fromMillis(toMs, { zone: timezone }).diff(month, ['days', 'hours', 'minutes']),
        ),
        month,
      )
      return { fromMs: month.toMillis(), toMs, previous: range(prevMonth, prevEnd) }
    }
  }
}

/** The range of the same length just before [fromMs, toMs) (for explicit from/to). */
export function previousRange(r: Range): Range {
  return { fromMs: r.fromMs - (r.toMs - r.fromMs), toMs: r.fromMs }
}

/**
 * The calendar month `YYYY-MM` in `timezone`, with the month before it as `previous`; undefined when
 * `month` is not a valid month.
 */
export function monthRange(month: string, timezone: string): ResolvedPeriod | undefined {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) return undefined
  const start = DateTime.fromISO(`${month}-01T00:00:00`, { zone: timezone })
  if (!start.isValid) return undefined
  return {
    ...range(start, start.plus({ months: 1 })),
    previous: range(start.minus({ months: 1 }), start),
  }
}
