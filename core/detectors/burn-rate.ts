import type { BurnRateWindow, DetectorsConfig, ScopeKind, Severity } from '../../schemas/policy.js'
import { budgetScope, describeScope } from './budget-scope.js'
import { dedupeKey, parseDedupeKey } from './dedupe-key.js'
import type { Finding, Step } from './finding.js'
import { periodAdjective, periodHours } from './periods.js'
import type { BudgetSnapshot } from './spend-snapshot.js'
import { durationLabel, instant, iso, round, times, usd } from './wording.js'

export type BurnRateConfig = DetectorsConfig['burn_rate']

/** One open burn-rate alert: a budget scope burning too fast at one severity. */
export interface BurnRateEntry {
  budget: string
  kind: ScopeKind
  id: string
  severity: Severity
  /** When it fired (event time); null when restored from an open alert key. */
  since: number | null
  /** Pairs (`1h/5m`) still burning; `*` = unknown after a restore (every pair of the severity). */
  active: string[]
}

/**
 * Open burn-rate alerts by dedupe key. Plain data (JSON-able); an entry exists only while its alert is
 * open, so the size is the number of open incidents.
 */
export interface BurnRateState {
  open: Record<string, BurnRateEntry>
}

export function initBurnRateState(): BurnRateState {
  return { open: {} }
}

/** `burn_rate:<budget>:<severity>:<scope kind>:<scope id>`: one alert per budget scope and severity. */
export function burnRateKey(budget: string, severity: Severity, kind: ScopeKind, id: string): string {
  return dedupeKey('burn_rate', budget, severity, kind, id)
}

/** No own keys (without allocating a key array: this runs for every snapshot). */
export function isEmpty(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return false
  return true
}

const pairIds = new WeakMap<BurnRateWindow, string>()
function pairId(w: BurnRateWindow): string {
  let id = pairIds.get(w)
  if (id === undefined) pairIds.set(w, (id = `${durationLabel(w.long)}/${durationLabel(w.short)}`))
  return id
}

interface PairReading {
  w: BurnRateWindow
  longBurn: number
  shortBurn: number
  shortUsdPerH: number
  longUsdPerH: number
}

/**
 * Multi-window, multi-burn-rate alert on one budget scope (Google SRE workbook). Burn rate over a window
 * = (window spend / window hours) / (limit / period hours): 1 spends the budget exactly by period end.
 * A pair fires when both its long and short windows burn faster than its factor and stays active until
 * its short window no longer does. Pairs are grouped by severity: one alert per budget scope and
 * severity (as the workbook's page/ticket rules), open while any of its pairs is active, so a spike is
 * one page and one ticket rather than four alerts, and pages and tickets route apart.
 * MUST: call on every snapshot of a scope with an open entry (see `openBurnScopes`) so it can resolve.
 */
export function evaluateBurnRate(
  state: BurnRateState,
  snap: BudgetSnapshot,
  cfg: BurnRateConfig,
  now: number,
): Step<BurnRateState> {
  const { budget } = snap
  const scope = budgetScope(budget, snap.scopeId)
  const sustainable = budget.limit_usd / periodHours(snap.period)
  const readings: PairReading[] = cfg.windows.map((w) => {
    const longUsdPerH = (snap.windowSpend[w.long] ?? 0) / (w.long / 3_600_000)
    const shortUsdPerH = (snap.windowSpend[w.short] ?? 0) / (w.short / 3_600_000)
    return {
      w,
      longBurn: longUsdPerH / sustainable,
      shortBurn: shortUsdPerH / sustainable,
      shortUsdPerH,
      longUsdPerH,
    }
  })
  const severities = [...new Set(cfg.windows.map((w) => w.severity))]
  let open = state.open
  const findings: Finding[] = []
  const anyOpen = !isEmpty(open)
  // Fast path (almost every evaluation): nothing open and no pair over its factor on both windows.
  if (!anyOpen && !readings.some((r) => r.shortBurn > r.w.factor && r.longBurn > r.w.factor)) {
    return { state, findings }
  }
  for (const severity of severities) {
    const key = burnRateKey(budget.name, severity, scope.kind as ScopeKind, scope.id)
    const entry = open[key]
    const mine = readings.filter((r) => r.w.severity === severity)
    const active = mine.filter((r) => {
      const was = entry !== undefined && (entry.active.includes(pairId(r.w)) || entry.active.includes('*'))
      return r.shortBurn > r.w.factor && (was || r.longBurn > r.w.factor)
    })
    if (active.length > 0) {
      const ids = active.map((r) => pairId(r.w))
      if (!entry) {
        open = {
          ...open,
          [key]: {
            budget: budget.name,
            kind: scope.kind as ScopeKind,
            id: scope.id,
            severity,
            since: now,
            active: ids,
          },
        }
        findings.push(finding(snap, key, severity, 'firing', active, readings, sustainable, now))
      } else if (ids.join() !== entry.active.join()) {
        open = { ...open, [key]: { ...entry, active: ids } }
      }
    } else if (entry) {
      open = { ...open }
      delete open[key]
      findings.push(finding(snap, key, severity, 'resolved', mine, readings, sustainable, now))
    }
  }
  // Alerts of a severity the config no longer has (config reloaded) resolve on the next snapshot.
  for (const [key, entry] of Object.entries(open)) {
    if (entry.budget !== budget.name || entry.id !== scope.id || entry.kind !== scope.kind) continue
    if (severities.includes(entry.severity)) continue
    open = { ...open }
    delete open[key]
    findings.push(finding(snap, key, entry.severity, 'resolved', readings, readings, sustainable, now))
  }
  return { state: open === state.open ? state : { open }, findings }
}

function finding(
  snap: BudgetSnapshot,
  key: string,
  severity: Severity,
  state: 'firing' | 'resolved',
  pairs: PairReading[],
  all: PairReading[],
  sustainable: number,
  now: number,
): Finding {
  const { budget } = snap
  const scope = budgetScope(budget, snap.scopeId)
  // The most acute pair (highest factor) speaks for the alert; its short window is "the current rate".
  const lead = pairs.reduce((a, b) => (b.w.factor > a.w.factor ? b : a))
  const remaining = budget.limit_usd - snap.periodSpend
  const rate = lead.shortUsdPerH
  const runsOut = remaining <= 0 ? now : rate > 0 ? now + (remaining / rate) * 3_600_000 : null
  const beforeEnd = runsOut !== null && runsOut < snap.period.end
  const what = `budget ${budget.name} (${usd(budget.limit_usd)} ${periodAdjective(budget.period)})`
  const short = durationLabel(lead.w.short)
  let summary: string
  if (state === 'firing') {
    const outlook =
      remaining <= 0
        ? 'budget already exhausted'
        : `${usd(remaining)} left, ${beforeEnd ? `runs out ${instant(runsOut, budget.timezone)}` : 'lasts to the period end'} at this rate`
    summary =
      `${describeScope(scope)} is burning ${what} at ${times(lead.shortBurn)} the sustainable rate ` +
      `(${usd(rate)}/h over the last ${short} vs ${usd(sustainable)}/h sustainable); ${outlook}`
  } else {
    summary =
      `${describeScope(scope)}: ${what} burn back to ${times(lead.shortBurn)} over the last ${short} ` +
      `(under ${times(lead.w.factor)}); ${usd(Math.max(0, remaining))} left`
  }
  const details: Finding['details'] = {
    budget: budget.name,
    limit_usd: budget.limit_usd,
    period: budget.period,
    period_start: iso(snap.period.start),
    period_end: iso(snap.period.end),
    period_spend_usd: round(snap.periodSpend),
    remaining_usd: round(remaining),
    sustainable_usd_per_h: round(sustainable),
    pairs: pairs.map((p) => pairId(p.w)).join(','),
    long_window: durationLabel(lead.w.long),
    short_window: short,
    factor: lead.w.factor,
    burn_rate_long: round(lead.longBurn, 3),
    burn_rate_short: round(lead.shortBurn, 3),
    rate_usd_per_h: round(rate),
    long_rate_usd_per_h: round(lead.longUsdPerH),
    runs_out_at: runsOut === null ? null : iso(runsOut),
    runs_out_before_period_end: beforeEnd,
  }
  for (const r of all) details[`burn_${pairId(r.w)}`] = `${round(r.longBurn, 2)}/${round(r.shortBurn, 2)}`
  return { type: 'burn_rate', dedupe_key: key, state, severity, scope, at: now, summary, details }
}

/** Budget scopes with an open alert: the caller MUST keep evaluating them (a quiet scope still has to resolve). */
export function openBurnScopes(state: BurnRateState): Array<{ budget: string; scopeId: string }> {
  const seen = new Map<string, { budget: string; scopeId: string }>()
  for (const e of Object.values(state.open))
    seen.set(`${e.budget}\u0000${e.id}`, { budget: e.budget, scopeId: e.id })
  return [...seen.values()]
}

/**
 * State after a restart from the open alert keys (the engine reads them from the alerts table). Entries
 * come back with every pair of their severity marked active, so the next snapshot either keeps them
 * open silently or resolves them: no duplicate firing.
 */
export function restoreBurnRateState(openKeys: Iterable<string>): BurnRateState {
  const open: Record<string, BurnRateEntry> = {}
  for (const key of openKeys) {
    const k = parseDedupeKey(key)
    if (k?.type !== 'burn_rate' || k.parts.length !== 4) continue
    const [budget, severity, kind, id] = k.parts as [string, Severity, ScopeKind, string]
    open[key] = { budget, kind, id, severity, since: null, active: ['*'] }
  }
  return { open }
}

/** Resolves open alerts of budgets no longer in the configuration (after a reload or a restart). */
export function retireBurnRate(
  state: BurnRateState,
  budgets: ReadonlySet<string>,
  now: number,
): Step<BurnRateState> {
  const findings: Finding[] = []
  let open = state.open
  for (const [key, e] of Object.entries(state.open)) {
    if (budgets.has(e.budget)) continue
    if (open === state.open) open = { ...open }
    delete open[key]
    findings.push({
      type: 'burn_rate',
      dedupe_key: key,
      state: 'resolved',
      severity: e.severity,
      scope: { kind: e.kind, id: e.id },
      at: now,
      summary: `${describeScope({ kind: e.kind, id: e.id })}: budget ${e.budget} is no longer configured`,
      details: { budget: e.budget, reason: 'budget removed' },
      final: true,
    })
  }
  return { state: open === state.open ? state : { open }, findings }
}
