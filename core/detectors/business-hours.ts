import { DateTime } from 'luxon'
import type { BusinessHours } from '../../schemas/policy.js'

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']

/** ISO weekdays (1 = Monday .. 7 = Sunday) of `mon-fri`, `mon,wed,fri`, `fri-mon` (ranges wrap). */
export function parseDays(spec: string): Set<number> {
  const out = new Set<number>()
  for (const part of spec.split(',')) {
    const ends = part.split('-').map((d) => DAYS.indexOf(d.trim()) + 1)
    const from = ends[0]!
    const to = ends[ends.length - 1]!
    if (from < 1 || to < 1) throw new Error(`bad day list ${JSON.stringify(spec)}`)
    for (let d = from, n = 0; n < 7; d = (d % 7) + 1, n++) {
      out.add(d)
      if (d === to) break
    }
  }
  return out
}

/** A maximal stretch of business time or of off-hours time, `[start, end)` epoch ms. */
export interface HoursStretch {
  start: number
  end: number
  business: boolean
}

const minutes = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number]
  return h * 60 + m
}

/** Stretches kept per business-hours setting; a stretch is hours to days long, so a few cover any traffic. */
const STRETCHES_KEPT = 32
const stretches = new Map<string, HoursStretch[]>()

/**
 * `stretchOf(bh, ts)`, memoised: a stretch found before that contains `ts` is returned as it is (the
 * same answer: stretches of one setting do not overlap). Resolving wall-clock times costs ~50 us with
 * luxon, and the zombie detector asks for every agent event (its preview for the newest event, its
 * ordered step for events a lateness behind: the one stretch the detector used to remember missed at
 * every boundary between the two).
 */
export function hoursStretch(bh: BusinessHours, ts: number): HoursStretch {
  const key = `${bh.days}|${bh.from}|${bh.to}|${bh.timezone}`
  let kept = stretches.get(key)
  if (!kept) stretches.set(key, (kept = []))
  for (const s of kept) if (ts >= s.start && ts < s.end) return s
  const s = Object.freeze(stretchOf(bh, ts))
  kept.push(s)
  if (kept.length > STRETCHES_KEPT) kept.shift()
  return s
}

/**
 * The business or off-hours stretch containing `ts`. Business hours are `from`..`to` local time on the
 * listed days in `timezone` (`to` before `from` runs past midnight; `from` = `to` is the whole day);
 * wall-clock times are resolved by luxon, so DST days are 23 or 25 hours long and a `from` inside the
 * spring-forward gap starts at the first instant after it. Off-hours are everything else: one stretch
 * runs from the end of a business interval to the start of the next (a weekend is one stretch).
 * Stretch bounds are exact within a week either side; a week with no off-hours is reported as business.
 */
export function stretchOf(bh: BusinessHours, ts: number): HoursStretch {
  const days = parseDays(bh.days)
  const from = minutes(bh.from)
  const to = minutes(bh.to)
  const zone = bh.timezone
  const d0 = DateTime.fromMillis(ts, { zone }).startOf('day')
  const at = (d: DateTime, mins: number, plusDays = 0): number => {
    const day = d.plus({ days: plusDays })
    return DateTime.fromObject(
      { year: day.year, month: day.month, day: day.day, hour: Math.floor(mins / 60), minute: mins % 60 },
      { zone },
    ).toMillis()
  }
  const raw: Array<[number, number]> = []
  for (let k = -8; k <= 8; k++) {
    const d = d0.plus({ days: k })
    if (!days.has(d.weekday)) continue
    if (from < to) raw.push([at(d, from), at(d, to)])
    else if (from > to) raw.push([at(d, from), at(d, to, 1)])
    else raw.push([at(d, 0), at(d, 0, 1)])
  }
  raw.sort((a, b) => a[0] - b[0])
  const merged: Array<[number, number]> = []
  for (const [s, e] of raw) {
    const last = merged[merged.length - 1]
    if (last && s <= last[1]) last[1] = Math.max(last[1], e)
    else merged.push([s, e])
  }
  let prevEnd = d0.minus({ days: 8 }).toMillis()
  for (const [s, e] of merged) {
    if (ts < s) return { start: prevEnd, end: s, business: false }
    if (ts < e) return { start: s, end: e, business: true }
    prevEnd = e
  }
  return { start: prevEnd, end: d0.plus({ days: 9 }).toMillis(), business: false }
}
