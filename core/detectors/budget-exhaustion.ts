import type { DetectorsConfig, ScopeKind } from '../../schemas/policy.js'
import { budgetScope, describeScope } from './budget-scope.js'
import { parseDedupeKey } from './dedupe-key.js'
import { forecastFinding, thresholdFinding } from './exhaustion-findings.js'
import type { Finding, Step } from './finding.js'
import { forecastExhaustion, forecastWithin } from './forecast.js'
import type { BudgetSnapshot } from './spend-snapshot.js'
import { usd } from './wording.js'

export type BudgetExhaustionConfig = DetectorsConfig['budget_exhaustion']

/** Alert state of one budget scope in its current period. */
export interface ExhaustionEntry {
  budget: string
  kind: ScopeKind
  id: string
  /** Period the thresholds belong to; null when restored from open alert keys (period unknown). */
  periodStart: number | null
  periodEnd: number | null
  /** Thresholds with an open alert this period. */
  fired: number[]
  /** Thresholds crossed in the same step as a higher one: no alert of their own, done for the period. */
  skipped: number[]
  /** Open forecast alert (since: when it fired; null when restored). */
  forecast: { since: number | null } | null
}

/** Entries by budget scope; an entry lives only while it holds something. Plain data (JSON-able). */
export interface BudgetExhaustionState {
  entries: Record<string, ExhaustionEntry>
}

export function initBudgetExhaustionState(): BudgetExhaustionState {
  return { entries: {} }
}

import { forecastKey, thresholdKey, thresholdSeverity } from './exhaustion-findings.js'

export { forecastKey, thresholdKey, thresholdSeverity }

const entryKey = (budget: string, kind: string, id: string): string => `${budget}\u0000${kind}\u0000${id}`

const thresholdCache = new WeakMap<readonly number[], number[]>()

/** The configured thresholds plus 1.0 (always: it carries `on_exhausted`), ascending. */
export function effectiveThresholds(cfg: BudgetExhaustionConfig): number[] {
  let out = thresholdCache.get(cfg.thresholds)
  if (!out)
    thresholdCache.set(cfg.thresholds, (out = [...new Set([...cfg.thresholds, 1])].sort((a, b) => a - b)))
  return out
}

/**
 * Budget exhaustion on one budget scope:
 * - each threshold (spend / limit) fires once per period and resolves when the period rolls over or the
 *   limit is raised above the spend (a budget changed mid-period is re-evaluated against the new limit);
 *   thresholds crossed together fire once, as the highest (1.0 always fires on its own);
 * - the 1.0 finding is the exhaustion decision and carries `budget.on_exhausted` as `action`;
 * - the forecast fires when, at the recent rate, the budget runs out within `forecast_horizon` and
 *   before the period ends, and the period-to-date projection agrees it runs out this period (see
 *   `forecastWithin`); it resolves when the forecast moves past twice the horizon, past the period end,
 *   or the projection past the period end plus the horizon (hysteresis against flapping), when the
 *   budget is exhausted (the 1.0 alert takes over) or when the period rolls over.
 * MUST: call on every snapshot of a scope with an entry (see `openExhaustionScopes`).
 */
export function evaluateBudgetExhaustion(
  state: BudgetExhaustionState,
  snap: BudgetSnapshot,
  cfg: BudgetExhaustionConfig,
  now: number,
  opts: { recentWindowMs?: number } = {},
): Step<BudgetExhaustionState> {
  const recent = opts.recentWindowMs
  const { budget } = snap
  const scope = budgetScope(budget, snap.scopeId)
  const kind = scope.kind as ScopeKind
  const ek = entryKey(budget.name, kind, scope.id)
  const before = state.entries[ek]
  if (!before && snap.periodSpend / budget.limit_usd < effectiveThresholds(cfg)[0]!) {
    // Fast path (almost every evaluation): nothing held, no threshold crossed, no exhaustion in sight.
    if (!forecastWithin(forecastExhaustion(snap, recent), snap, now, cfg.forecast_horizon))
      return { state, findings: [] }
  }
  let e: ExhaustionEntry = before
    ? { ...before, fired: [...before.fired], skipped: [...before.skipped] }
    : {
        budget: budget.name,
        kind,
        id: scope.id,
        periodStart: snap.period.start,
        periodEnd: snap.period.end,
        fired: [],
        skipped: [],
        forecast: null,
      }
  const findings: Finding[] = []
  const ratio = snap.periodSpend / budget.limit_usd

  if (e.periodStart !== null && e.periodStart !== snap.period.start) {
    for (const t of e.fired)
      findings.push(thresholdFinding(snap, t, 'resolved', now, 'the period rolled over'))
    if (e.forecast)
      findings.push(
        forecastFinding(snap, forecastExhaustion(snap, recent), 'resolved', now, 'the period rolled over'),
      )
    e = { ...e, fired: [], skipped: [], forecast: null }
  }
  const restored = e.periodStart === null
  e.periodStart = snap.period.start
  e.periodEnd = snap.period.end

  const why = restored ? 'not crossed after a restart' : `the limit is now ${usd(budget.limit_usd)}`
  for (const t of e.fired.filter((x) => ratio < x))
    findings.push(thresholdFinding(snap, t, 'resolved', now, why))
  e.fired = e.fired.filter((t) => ratio >= t)
  e.skipped = e.skipped.filter((t) => ratio >= t)
  if (restored && e.fired.length > 0) {
    // Lower thresholds crossed with a restored one were either alerted and resolved or skipped: never re-fire.
    const top = Math.max(...e.fired)
    e.skipped.push(...effectiveThresholds(cfg).filter((t) => t < top && !e.fired.includes(t)))
  }
  const newly = effectiveThresholds(cfg).filter(
    (t) => ratio >= t && !e.fired.includes(t) && !e.skipped.includes(t),
  )
  if (newly.length > 0) {
    const top = newly[newly.length - 1]!
    const alert = newly.filter((t) => t === top || t === 1)
    for (const t of alert) findings.push(thresholdFinding(snap, t, 'firing', now, ''))
    e.fired.push(...alert)
    e.skipped.push(...newly.filter((t) => !alert.includes(t)))
  }

  const fc = forecastExhaustion(snap, recent)
  if (e.forecast) {
    if (!forecastWithin(fc, snap, now, 2 * cfg.forecast_horizon, cfg.forecast_horizon)) {
      const reason = ratio >= 1 ? 'the budget is exhausted' : 'spend slowed down'
      findings.push(forecastFinding(snap, fc, 'resolved', now, reason))
      e.forecast = null
    }
  } else if (forecastWithin(fc, snap, now, cfg.forecast_horizon)) {
    findings.push(forecastFinding(snap, fc, 'firing', now, ''))
    e.forecast = { since: now }
  }

  const keep = e.fired.length > 0 || e.skipped.length > 0 || e.forecast !== null
  if (!keep && !before) return { state, findings }
  const entries = { ...state.entries }
  if (keep) entries[ek] = e
  else delete entries[ek]
  return { state: { entries }, findings }
}

/**
 * Budget scopes that time alone can change at `now` (open forecast, period ended, restored entry): the
 * caller MUST evaluate them even without new spend. Thresholds that merely stay crossed need nothing
 * until their period ends.
 */
export function openExhaustionScopes(
  state: BudgetExhaustionState,
  now: number,
): Array<{ budget: string; scopeId: string }> {
  return Object.values(state.entries)
    .filter((e) => e.forecast !== null || e.periodEnd === null || now >= e.periodEnd)
    .map((e) => ({ budget: e.budget, scopeId: e.id }))
}

/**
 * State after a restart from open alert keys. The period they fired in is unknown, so the next snapshot
 * keeps the thresholds still crossed open (silently) and resolves the others: no duplicate firing.
 */
export function restoreBudgetExhaustionState(openKeys: Iterable<string>): BudgetExhaustionState {
  const entries: Record<string, ExhaustionEntry> = {}
  const get = (budget: string, kind: ScopeKind, id: string): ExhaustionEntry =>
    (entries[entryKey(budget, kind, id)] ??= {
      budget,
      kind,
      id,
      periodStart: null,
      periodEnd: null,
      fired: [],
      skipped: [],
      forecast: null,
    })
  for (const key of openKeys) {
    const k = parseDedupeKey(key)
    if (k?.type !== 'budget_exhaustion') continue
    const [budget, what] = k.parts as [string, string]
    if (what === 'threshold' && k.parts.length === 5) {
      const [, , t, kind, id] = k.parts as [string, string, string, ScopeKind, string]
      get(budget, kind, id).fired.push(Number(t))
    } else if (what === 'forecast' && k.parts.length === 4) {
      const [, , kind, id] = k.parts as [string, string, ScopeKind, string]
      get(budget, kind, id).forecast = { since: null }
    }
  }
  return { entries }
}

/** Resolves open alerts of budgets no longer in the configuration (after a reload or a restart). */
export function retireBudgetExhaustion(
  state: BudgetExhaustionState,
  budgets: ReadonlySet<string>,
  now: number,
): Step<BudgetExhaustionState> {
  const findings: Finding[] = []
  let entries = state.entries
  for (const [ek, e] of Object.entries(state.entries)) {
    if (budgets.has(e.budget)) continue
    if (entries === state.entries) entries = { ...entries }
    delete entries[ek]
    const keys = [
      ...e.fired.map((t) => [thresholdKey(e.budget, t, e.kind, e.id), thresholdSeverity(t)] as const),
      ...(e.forecast ? [[forecastKey(e.budget, e.kind, e.id), 'ticket'] as const] : []),
    ]
    for (const [key, severity] of keys) {
      findings.push({
        type: 'budget_exhaustion',
        dedupe_key: key,
        state: 'resolved',
        severity,
        scope: { kind: e.kind, id: e.id },
        at: now,
        summary: `${describeScope({ kind: e.kind, id: e.id })}: budget ${e.budget} is no longer configured`,
        details: { budget: e.budget, reason: 'budget removed' },
        final: true,
      })
    }
  }
  return { state: entries === state.entries ? state : { entries }, findings }
}
