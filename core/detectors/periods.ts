import { DateTime } from 'luxon'
import type { Budget } from '../../schemas/policy.js'

/** A half-open interval of event time `[start, end)` in epoch ms. */
export interface Period {
  start: number
  end: number
}

export type PeriodKind = Budget['period']

const UNIT = { day: 'day', week: 'week', month: 'month' } as const

/**
 * The calendar period (day, ISO week starting Monday, month) containing `atMs`, in `timezone`.
 * Calendar arithmetic is luxon's: a Paris day across the spring DST change lasts 23 h, a month is a
 * month, whatever its length. MUST: start <= atMs < end.
 */
export function calendarPeriod(kind: PeriodKind, timezone: string, atMs: number): Period {
  const local = DateTime.fromMillis(atMs, { zone: timezone })
  if (!local.isValid) throw new Error(`invalid time zone ${timezone}`)
  // luxon's startOf('week') is the ISO week (Monday) unless useLocaleWeeks is asked for.
  const start = local.startOf(UNIT[kind])
  const end = start.plus({ [`${UNIT[kind]}s`]: 1 })
  return { start: start.toMillis(), end: end.toMillis() }
}

/** The budget's period containing `atMs` (its calendar period in its time zone). */
export function budgetPeriod(budget: Pick<Budget, 'period' | 'timezone'>, atMs: number): Period {
  return calendarPeriod(budget.period, budget.timezone, atMs)
}

/** Length of a period in hours (23 or 25 for a DST-change day; 672..744 for a month). */
export function periodHours(p: Period): number {
  return (p.end - p.start) / 3_600_000
}

/** `daily`, `weekly`, `monthly`. */
export function periodAdjective(kind: PeriodKind): string {
  return kind === 'day' ? 'daily' : kind === 'week' ? 'weekly' : 'monthly'
}

/**
 * Remembers the last period looked up, so a stream in time order calls luxon once per period instead
 * of once per event. Plain data (JSON-able).
 */
export interface PeriodMemo {
  kind: PeriodKind
  timezone: string
  last: Period | null
}

/** The period containing `atMs`, reusing the memo when it still covers `atMs`. */
export function memoPeriod(memo: PeriodMemo, atMs: number): Period {
  const last = memo.last
  if (last && atMs >= last.start && atMs < last.end) return last
  const p = calendarPeriod(memo.kind, memo.timezone, atMs)
  memo.last = p
  return p
}
