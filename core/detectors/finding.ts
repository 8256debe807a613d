import type { EnforcementAction, ScopeKind, Severity } from '../../schemas/policy.js'

/** The detectors. */
export type DetectorType = 'burn_rate' | 'budget_exhaustion' | 'loop' | 'zombie_agent' | 'spend_anomaly'

/** What a finding is about: a dimension and its value (`global` has id ''). */
export interface Scope {
  kind: ScopeKind | 'trace' | 'session'
  id: string
}

/**
 * A detector's verdict at one instant (event time). The alerting layer turns findings into alerts:
 * the same `dedupe_key` is one alert, `firing` opens or keeps it, `resolved` closes it.
 * MUST: `dedupe_key` is stable for the incident (detector + scope + budget or fingerprint), and the same
 * input always yields the same findings (replay of history fires what live traffic fired).
 */
export interface Finding {
  type: DetectorType
  dedupe_key: string
  state: 'firing' | 'resolved'
  severity: Severity
  scope: Scope
  /** Event time of the verdict (epoch ms). */
  at: number
  /** One line for humans: what, how much, how fast. */
  summary: string
  /** Numbers behind the summary (rates, counts, cost so far, forecast instant...). */
  details: Record<string, string | number | boolean | null>
  /** Gateway action the policy attaches (downgrade/block), applied by the enforcement layer. */
  action?: EnforcementAction
  /**
   * A resolution that cannot be undone by the next event (its budget was removed): closed at once,
   * past the detector's `resolve_after` hysteresis.
   */
  final?: true
}

/** A pure detector step's output. */
export interface Step<S> {
  state: S
  findings: Finding[]
}
