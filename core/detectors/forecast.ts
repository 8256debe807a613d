import type { BudgetSnapshot } from './spend-snapshot.js'

/** The period-to-date projection is ignored before this much of the period has passed (one early request is no trend). */
export const MIN_PTD_ELAPSED_MS = 3_600_000
/** The recent-rate forecast uses the snapshot window closest to this (the 6h burn window by default). */
export const RECENT_WINDOW_TARGET_MS = 6 * 3_600_000

/** A forecast of when a budget runs out (epoch ms), by two linear projections. */
export interface Forecast {
  /** The forecast instant: the recent-rate one ("at this rate"), or period-to-date without a recent window. */
  at: number | null
  basis: 'recent' | 'period_to_date' | null
  recentWindow: number | null
  recentUsdPerH: number
  ptdUsdPerH: number
  recentAt: number | null
  /** Period-to-date projection; null in the first `MIN_PTD_ELAPSED_MS` of a period or with no spend. */
  ptdAt: number | null
}

/** The window (ms) the recent-rate forecast uses among `windows`: the one closest to 6 h (ties: the longer). */
export function recentWindowOf(windows: readonly number[]): number | undefined {
  let best: number | undefined
  for (const w of windows) {
    const d = Math.abs(w - RECENT_WINDOW_TARGET_MS)
    if (
      best === undefined ||
      d < Math.abs(best - RECENT_WINDOW_TARGET_MS) ||
      (d === Math.abs(best - RECENT_WINDOW_TARGET_MS) && w > best)
    )
      best = w
  }
  return best
}

/**
 * When the budget runs out if spend goes on (a) at the recent rate (the window closest to 6 h;
 * `recentWindowMs` defaults to `recentWindowOf` the snapshot's windows) and (b) at the period-to-date
 * average (linear projection). `at` is (a), or (b) when there is no recent window.
 */
export function forecastExhaustion(snap: BudgetSnapshot, recentWindowMs?: number): Forecast {
  const remaining = snap.budget.limit_usd - snap.periodSpend
  const recentWindow = recentWindowMs ?? recentWindowOf(Object.keys(snap.windowSpend).map(Number)) ?? null
  const recentPerMs = recentWindow === null ? 0 : (snap.windowSpend[recentWindow] ?? 0) / recentWindow
  const elapsed = snap.at - snap.period.start
  const ptdPerMs = elapsed >= MIN_PTD_ELAPSED_MS ? snap.periodSpend / elapsed : 0
  const when = (perMs: number): number | null =>
    remaining > 0 && perMs > 0 ? snap.at + remaining / perMs : null
  const recentAt = when(recentPerMs)
  const ptdAt = when(ptdPerMs)
  return {
    at: recentWindow === null ? ptdAt : recentAt,
    basis:
      recentWindow === null
        ? ptdAt === null
          ? null
          : 'period_to_date'
        : recentAt === null
          ? null
          : 'recent',
    recentWindow,
    recentUsdPerH: recentPerMs * 3_600_000,
    ptdUsdPerH: ptdPerMs * 3_600_000,
    recentAt,
    ptdAt,
  }
}

/**
 * Whether a forecast says "runs out within `horizon`": the forecast instant is within `horizon` of `now`
 * and before the period ends, and the period-to-date projection agrees that the budget runs out this
 * period (within `slack` after its end). Requiring both keeps noise out: a burst alone (recent rate up,
 * the period's average fine) is the burn-rate detector's job, and an early-period projection from a
 * few requests is not trusted unless the recent rate says the same.
 */
export function forecastWithin(
  fc: Forecast,
  snap: BudgetSnapshot,
  now: number,
  horizon: number,
  slack = 0,
): boolean {
  if (fc.at === null || fc.at >= snap.period.end || fc.at > now + horizon) return false
  return fc.basis === 'period_to_date' || (fc.ptdAt !== null && fc.ptdAt < snap.period.end + slack)
}
