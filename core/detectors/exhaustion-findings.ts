import type { Budget, ScopeKind, Severity } from '../../schemas/policy.js'
import { budgetScope, describeScope } from './budget-scope.js'
import type { Finding } from './finding.js'
import type { Forecast } from './forecast.js'
import { periodAdjective } from './periods.js'
import type { BudgetSnapshot } from './spend-snapshot.js'
import { durationLabel, instant, iso, round, span, usd } from './wording.js'
import { dedupeKey } from './dedupe-key.js'

/** `budget_exhaustion:<budget>:threshold:<t>:<kind>:<id>`: one alert per threshold crossed. */
export function thresholdKey(budget: string, t: number, kind: ScopeKind, id: string): string {
  return dedupeKey('budget_exhaustion', budget, 'threshold', String(t), kind, id)
}

/** `budget_exhaustion:<budget>:forecast:<kind>:<id>`. */
export function forecastKey(budget: string, kind: ScopeKind, id: string): string {
  return dedupeKey('budget_exhaustion', budget, 'forecast', kind, id)
}

/** Below 80%: info; 80-99%: ticket; exhausted: page. */
export function thresholdSeverity(t: number): Severity {
  return t >= 1 ? 'page' : t >= 0.8 ? 'ticket' : 'info'
}

function baseDetails(snap: BudgetSnapshot): Finding['details'] {
  const { budget } = snap
  return {
    budget: budget.name,
    limit_usd: budget.limit_usd,
    period: budget.period,
    timezone: budget.timezone,
    period_start: iso(snap.period.start),
    period_end: iso(snap.period.end),
    period_spend_usd: round(snap.periodSpend),
    remaining_usd: round(budget.limit_usd - snap.periodSpend),
    spent_ratio: round(snap.periodSpend / budget.limit_usd, 4),
  }
}

const budgetLabel = (b: Budget): string =>
  `its ${usd(b.limit_usd)} ${periodAdjective(b.period)} budget ${b.name}`
const pct = (x: number): string => `${round(x * 100, 1)}%`

/** A threshold crossed (or cleared); the 1.0 one carries `on_exhausted`. */
export function thresholdFinding(
  snap: BudgetSnapshot,
  t: number,
  state: 'firing' | 'resolved',
  now: number,
  reason: string,
): Finding {
  const { budget } = snap
  const scope = budgetScope(budget, snap.scopeId)
  const subject = describeScope(scope)
  const spent = `${usd(round(snap.periodSpend, 2))} spent, ${pct(snap.periodSpend / budget.limit_usd)}`
  const action = t === 1 ? budget.on_exhausted : undefined
  let summary: string
  if (state === 'resolved')
    summary = `${subject}: ${pct(t)} threshold of ${budgetLabel(budget)} cleared: ${reason}`
  else if (t === 1) {
    const act = action ? `on_exhausted: ${action.action}` : 'alert only (no on_exhausted)'
    summary = `${subject} exhausted ${budgetLabel(budget)} (${spent}); ${act}`
  } else {
    const left = span(snap.period.end - now)
    summary = `${subject} crossed ${pct(t)} of ${budgetLabel(budget)} (${spent}) with ${left} of the period left`
  }
  const f: Finding = {
    type: 'budget_exhaustion',
    dedupe_key: thresholdKey(budget.name, t, scope.kind as ScopeKind, scope.id),
    state,
    severity: thresholdSeverity(t),
    scope,
    at: now,
    summary,
    details: {
      ...baseDetails(snap),
      kind: 'threshold',
      threshold: t,
      exhausted: t >= 1 && state === 'firing',
      on_exhausted: t === 1 ? (budget.on_exhausted?.action ?? 'alert') : null,
      reason: reason === '' ? null : reason,
    },
  }
  if (action && state === 'firing') f.action = action
  return f
}

/** The exhaustion forecast alert (or its resolution). */
export function forecastFinding(
  snap: BudgetSnapshot,
  fc: Forecast,
  state: 'firing' | 'resolved',
  now: number,
  reason: string,
): Finding {
  const { budget } = snap
  const scope = budgetScope(budget, snap.scopeId)
  const subject = describeScope(scope)
  const left = usd(round(budget.limit_usd - snap.periodSpend, 2))
  let summary: string
  if (state === 'firing' && fc.at !== null) {
    const basis =
      fc.basis === 'recent' && fc.recentWindow !== null
        ? `at the last ${durationLabel(fc.recentWindow)} rate of ${usd(round(fc.recentUsdPerH, 2))}/h`
        : `at the period-to-date rate of ${usd(round(fc.ptdUsdPerH, 2))}/h`
    summary = `${subject} will exhaust ${budgetLabel(budget)} on ${instant(fc.at, budget.timezone)} (${left} left, ${basis})`
  } else {
    summary = `${subject}: no longer forecast to exhaust ${budgetLabel(budget)} soon: ${reason}`
  }
  return {
    type: 'budget_exhaustion',
    dedupe_key: forecastKey(budget.name, scope.kind as ScopeKind, scope.id),
    state,
    severity: 'ticket',
    scope,
    at: now,
    summary,
    details: {
      ...baseDetails(snap),
      kind: 'forecast',
      forecast_at: fc.at === null ? null : iso(fc.at),
      hours_to_exhaustion: fc.at === null ? null : round((fc.at - now) / 3_600_000, 2),
      basis: fc.basis,
      recent_window: fc.recentWindow === null ? null : durationLabel(fc.recentWindow),
      recent_rate_usd_per_h: round(fc.recentUsdPerH),
      ptd_rate_usd_per_h: round(fc.ptdUsdPerH),
      forecast_recent_at: fc.recentAt === null ? null : iso(fc.recentAt),
      forecast_ptd_at: fc.ptdAt === null ? null : iso(fc.ptdAt),
      reason: reason === '' ? null : reason,
    },
  }
}
