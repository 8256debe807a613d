import type { DetectorsConfig } from '../../schemas/policy.js'
import { describeScope } from './budget-scope.js'
import { dedupeKey } from './dedupe-key.js'
import type { Finding, Scope } from './finding.js'
import { baselineLabel, type Baseline } from './spend-baseline.js'
import { durationLabel, instant, iso, round, times, usd } from './wording.js'

/** What a scope's series reads at one tick. */
export interface AnomalyReading {
  /** Spend and requests in the trailing window. */
  spend: number
  requests: number
  /** Window spend per hour (USD/h). */
  rate: number
  /** Null while the scope is too young to judge. */
  base: Baseline | null
  /** Rate at or above which the scope is anomalous (USD/h; Infinity when not judged). */
  threshold: number
  above: boolean
}

interface SeriesView {
  kind: string
  id: string
}

interface IncidentView {
  since: number
  firedAt: number
  peakRate: number
  cost: number
  baseRate: number
  restored: boolean
}

const perHour = (x: number): string => `${usd(round(x, x >= 0.01 ? 2 : 4))}/h`

/**
 * Firing: `customer acme: $42.10/h over the last 15m, 11.4x its usual $3.70/h for Thursdays 15:00 UTC,
 * since Nov 26 at 15:07 UTC`. Resolved: back to usual, with the incident's span, peak and spend.
 */
export function anomalyFinding(
  s: SeriesView,
  inc: IncidentView,
  r: AnomalyReading,
  state: 'firing' | 'resolved',
  cfg: DetectorsConfig['spend_anomaly'],
  at: number,
): Finding {
  const scope = { kind: s.kind, id: s.id } as Scope
  const who = describeScope(scope)
  const win = durationLabel(cfg.window)
  const b = r.base
  const ratio = b && b.rate > 0 ? r.rate / b.rate : null
  let summary: string
  if (state === 'firing') {
    const usual = !b
      ? ''
      : ratio === null
        ? `, usually no spend ${baselineLabel(b)}`
        : `, ${times(ratio)} its usual ${perHour(b.rate)} ${baselineLabel(b)}`
    summary = `${who}: ${perHour(r.rate)} over the last ${win}${usual}, since ${instant(inc.since, 'UTC')}`
  } else if (inc.restored) {
    summary = `${who}: spend back to usual (${perHour(r.rate)} over the last ${win}); the anomaly was open across a restart`
  } else {
    summary =
      `${who}: spend back to usual (${perHour(r.rate)} over the last ${win}, usual ${perHour(inc.baseRate)}); ` +
      `the anomaly ran from ${instant(inc.since, 'UTC')} to ${instant(at - cfg.clear_for, 'UTC')}, ` +
      `peak ${perHour(inc.peakRate)}, ${usd(round(inc.cost, 2))} spent meanwhile`
  }
  const f: Finding = {
    type: 'spend_anomaly',
    dedupe_key: dedupeKey('spend_anomaly', s.kind, s.id),
    state,
    severity: cfg.severity,
    scope,
    at,
    summary,
    details: {
      rate_usd_per_hour: round(r.rate),
      window: win,
      window_spend_usd: round(r.spend),
      window_requests: r.requests,
      baseline: b?.kind ?? null,
      baseline_usd_per_hour: b ? round(b.rate) : null,
      baseline_mad_usd_per_hour: b ? round(b.mad) : null,
      baseline_samples: b?.samples ?? null,
      baseline_for: b ? baselineLabel(b) : null,
      ratio: ratio === null ? null : round(ratio, 2),
      threshold_usd_per_hour: Number.isFinite(r.threshold) ? round(r.threshold) : null,
      since: iso(inc.since),
      peak_usd_per_hour: state === 'resolved' && !inc.restored ? round(inc.peakRate) : null,
      cost_usd: state === 'resolved' && !inc.restored ? round(inc.cost) : null,
      factor: cfg.factor,
      min_excess_usd_per_hour: cfg.min_excess_usd_per_hour,
      clear_for: durationLabel(cfg.clear_for),
      reason: null,
    },
  }
  if (state === 'firing' && cfg.action) f.action = cfg.action
  return f
}
