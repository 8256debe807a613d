import { DateTime } from 'luxon'
import { tierSum, type BucketTier } from './spend-buckets.js'

export const HOUR = 3_600_000
const WEEK_HOURS = 168
const DAY_HOURS = 24
/** Fewest same-hour-of-week samples before the weekly baseline is used. */
export const MIN_WEEKS = 2
/** Days of the same hour of day the daily baseline looks at while the weekly one is short. */
const DAILY_DAYS = 7
/** MAD to a standard deviation for normal data. */
export const MAD_SIGMA = 1.4826

/** Which history a baseline comes from, most specific first. */
export type BaselineKind = 'weekly' | 'daily' | 'recent'

/** The usual spend of a scope for one hour (the hour being judged). */
export interface Baseline {
  kind: BaselineKind
  /** Usual spend per hour (USD/h). */
  rate: number
  /** Median absolute deviation of the judged hour's samples (USD/h; 0 for `recent`). */
  mad: number
  /** Samples behind the judged hour's median (hours looked at for `recent`). */
  samples: number
  /** Epoch hour index the baseline is for. */
  hour: number
}

/** Median of a non-empty list (copy sorted). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const hourSpend = (t: BucketTier, h: number): number => tierSum(t, h * HOUR, (h + 1) * HOUR)

/** Spend of hours `h - period * k` (k = 1..n) known (at or after `from`), oldest last. */
function samples(t: BucketTier, from: number, h: number, period: number, n: number): number[] {
  const out: number[] = []
  for (let k = 1; k <= n; k++) {
    const s = h - period * k
    if (s < from) break
    out.push(hourSpend(t, s))
  }
  return out
}

/**
 * Seasonal baseline: for hours h-1, h and h+1 of earlier periods, each one's median; the baseline is the
 * largest (a ramp that starts an hour early, or a DST shift, is still usual), its spread the MAD of hour
 * h. Null when hour h has fewer than `min` samples.
 */
function seasonal(
  kind: BaselineKind,
  t: BucketTier,
  from: number,
  h: number,
  period: number,
  n: number,
  min: number,
): Baseline | null {
  const center = samples(t, from, h, period, n)
  if (center.length < min) return null
  const med = median(center)
  let rate = med
  for (const d of [-1, 1]) {
    const xs = samples(t, from, h + d, period, n)
    if (xs.length >= min) rate = Math.max(rate, median(xs))
  }
  const mad = median(center.map((x) => Math.abs(x - med)))
  return { kind, rate, mad, samples: center.length, hour: h }
}

/**
 * The usual spend per hour of a series at epoch hour `h` (the hour being judged, not complete), from the
 * complete hours at or after `from` (epoch hour of the first complete hour seen):
 * - `weekly`: the same hour of the week over the last `weeks` weeks, once at least `MIN_WEEKS` are known;
 * - `daily`: while history is shorter, the same hour of the day over the last 7 days (weekends included);
 * - `recent`: while not even a day is known, the busiest complete hour so far.
 * Null when no complete hour is known.
 */
export function baselineAt(hours: BucketTier, from: number, h: number, weeks: number): Baseline | null {
  const weekly = seasonal('weekly', hours, from, h, WEEK_HOURS, weeks, MIN_WEEKS)
  if (weekly) return weekly
  const daily = seasonal('daily', hours, from, h, DAY_HOURS, DAILY_DAYS, 1)
  if (daily) return daily
  if (h <= from) return null
  let rate = 0
  for (let s = from; s < h; s++) rate = Math.max(rate, hourSpend(hours, s))
  return { kind: 'recent', rate, mad: 0, samples: h - from, hour: h }
}

/**
 * The epoch hours `baselineAt(hours, from, h, weeks)` can read besides `from`: hours h-1..h+1 of each of the
 * last `weeks` weeks and of the last 7 days, and the 23 hours before h (the `recent` case, used only while
 * less than a day is known). A tier holding just these hours gives the same baseline as the whole history:
 * what the live detector asks the store for (`StoredSpendHistory`). Sorted, distinct.
 */
export function baselineHours(h: number, weeks: number): number[] {
  const out = new Set<number>()
  for (const [period, n] of [
    [WEEK_HOURS, weeks],
    [DAY_HOURS, DAILY_DAYS],
  ] as const)
    for (let k = 1; k <= n; k++) for (const d of [-1, 0, 1]) out.add(h + d - period * k)
  for (let s = h - (DAY_HOURS - 1); s < h; s++) out.add(s)
  return [...out].sort((a, b) => a - b)
}

/** `for Thursdays 15:00 UTC`, `at 15:00 UTC (last 3 days)`, `in its busiest hour so far (last 20h)`. */
export function baselineLabel(b: Baseline): string {
  const at = DateTime.fromMillis(b.hour * HOUR, { zone: 'UTC' }).setLocale('en-US')
  if (b.kind === 'weekly') return `for ${at.toFormat('cccc')}s ${at.toFormat('HH')}:00 UTC`
  if (b.kind === 'daily')
    return `at ${at.toFormat('HH')}:00 UTC (last ${b.samples} day${b.samples === 1 ? '' : 's'})`
  return `in its busiest hour so far (last ${b.samples}h)`
}
