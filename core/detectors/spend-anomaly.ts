import type { DetectorsConfig } from '../../schemas/policy.js'
import type { ScopeSpendHistory } from '../ports/hourly-spend-reader.js'
import type { ScopeMinuteSpend } from '../ports/minute-spend-reader.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { budgetScopeId, budgetScopeKind } from './budget-scope.js'
import { dedupeKey, parseDedupeKey } from './dedupe-key.js'
import type { Finding, Step } from './finding.js'
import { evictOver } from './lru.js'
import { byEventTime } from './restore.js'
import { anomalyFinding, type AnomalyReading } from './spend-anomaly-findings.js'
import { baselineAt, baselineHours, HOUR, MAD_SIGMA, type Baseline } from './spend-baseline.js'
import { newTier, tierAdd, tierSum, tierTrim, type BucketTier } from './spend-buckets.js'

export type SpendAnomalyConfig = DetectorsConfig['spend_anomaly']

const MINUTE = 60_000
const WEEK = 7 * 24 * HOUR
const SWEEP_EVERY_MS = HOUR

export interface SpendAnomalyLimits {
  /** Most scope series kept; beyond, the least recently seen 10% go (default 20 000). */
  maxSeries?: number
}

/** An open anomaly. */
export interface AnomalyIncident {
  /** Start of the excess: the first minute of the trailing stretch that ran above the threshold. */
  since: number
  firedAt: number
  /** Highest window rate seen while open (USD/h). */
  peakRate: number
  /** Spend of the scope while open (USD). */
  cost: number
  /** Since when the condition has been clear (null while it holds). */
  clearSince: number | null
  /** Baseline at firing (USD/h). */
  baseRate: number
  /** Taken over from the store at a restart (the numbers before it are unknown). */
  restored: boolean
}

/**
 * Live, the hourly history comes from the store, not from memory: for the hour being judged, each series'
 * first stored hour in the lookback and its spend in the hours its baseline reads (`baselineHours`). One
 * read an hour instead of weeks of hourly buckets per series held in memory and rebuilt at every start;
 * and the sums are global (every instance's events), as budget sums are.
 */
export interface StoredSpendHistory {
  /** Epoch hour (ms / HOUR) whose baselines it serves. */
  hour: number
  /** By `kind\0id`: the first hour with stored spend in the lookback (epoch hour), and spend per hour. */
  series: Map<string, { first: number; hours: BucketTier }>
}

/** One scope value's spend: hourly for the baseline, per minute for the window. Plain JSON. */
export interface AnomalySeries {
  kind: string
  id: string
  /** First event time (or first stored hour) of this series. */
  first: number
  lastTs: number
  /** Spend per hour, the last `weeks` weeks (empty when the history comes from the store). */
  hours: BucketTier
  /** Spend and requests per minute, the last `window`. */
  minutes: BucketTier
  counts: BucketTier
  /** Baseline of `base.hour`, kept until the hour changes or a late event lands in a past hour. */
  base: Baseline | null
  incident: AnomalyIncident | null
}

/** Detector state. Owned: steps update it in place and return it; callers MUST use the returned state. */
export interface SpendAnomalyState {
  clock: number
  /** By `kind\0id`, least recently seen first (to the minute: see `touch`). */
  series: Map<string, AnomalySeries>
  /** Series with an open incident. */
  open: Set<string>
  /** Series with spend since the last tick. */
  dirty: Set<string>
  lastSweep: number
  evicted: number
  /**
   * Null: the hourly history is kept in memory from the events (replay, tests). Else it comes from the
   * store (live): `history` is the last one handed over (`setStoredSpendHistory`), null until the first;
   * ticks judge nothing until it serves the tick's hour (`storedSpendHistoryWanted`).
   */
  stored: { history: StoredSpendHistory | null } | null
}

export interface SpendAnomalyStateJSON {
  clock: number
  series: Array<[string, AnomalySeries]>
  dirty: string[]
  lastSweep: number
  evicted: number
  /** Absent in states saved before the stored history: in memory. The history itself is read again. */
  fromStore?: boolean
}

export function initSpendAnomalyState(opts: { fromStore?: boolean } = {}): SpendAnomalyState {
  return {
    clock: -1,
    series: new Map(),
    open: new Set(),
    dirty: new Set(),
    lastSweep: -1,
    evicted: 0,
    stored: opts.fromStore ? { history: null } : null,
  }
}

/** The epoch hour whose stored history the detector waits for at `now`, or null (in memory, or held). */
export function storedSpendHistoryWanted(
  state: SpendAnomalyState,
  cfg: SpendAnomalyConfig,
  now: number,
): number | null {
  if (!cfg.enabled || !state.stored) return null
  const h = Math.floor(now / HOUR)
  return state.stored.history?.hour === h ? null : h
}

/**
 * What the store is asked for the history of epoch hour `h`, per configured scope
 * (`HourlySpendReader.spendHistory`): the first stored hour in `[fromHour, toHour)` (the baseline's
 * reach back from `h`) and the spend of the `hours` its baselines read (`baselineHours`).
 */
export function storedSpendRead(
  cfg: SpendAnomalyConfig,
  h: number,
): { fromHour: number; toHour: number; hours: number[] } {
  return { fromHour: h - (cfg.weeks * 168 + 2), toHour: h, hours: baselineHours(h, cfg.weeks) }
}

/** The stored history of epoch hour `hour` from what the store answered for each configured scope. */
export function storedSpendHistoryFrom(
  hour: number,
  answers: Iterable<ScopeSpendHistory>,
): StoredSpendHistory {
  const merged = new Map<string, { first: number; spend: Map<number, number> }>()
  for (const a of answers) {
    // two scopes can name one series ({ key: "*" } and { key: k }): an event counts toward it once, as in
    // stepSpendAnomaly. The fixed value's answer holds the other's rows and more (a key by hash or
    // alias, where "*" names it by its alias only when it has no hash), so per hour the larger sum is
    // the union's
    const key = `${a.kind}\u0000${a.id}`
    let m = merged.get(key)
    if (!m) merged.set(key, (m = { first: a.first, spend: new Map() }))
    m.first = Math.min(m.first, a.first)
    for (let i = 0; i < a.hours.length; i++)
      m.spend.set(a.hours[i]!, Math.max(m.spend.get(a.hours[i]!) ?? 0, a.costs[i]!))
  }
  const series = new Map<string, { first: number; hours: BucketTier }>()
  for (const [key, m] of merged) {
    const t = newTier(HOUR)
    for (const h of [...m.spend.keys()].sort((x, y) => x - y)) tierAdd(t, h * HOUR, m.spend.get(h)!)
    series.set(key, { first: m.first, hours: t })
  }
  return { hour, series }
}

/** Hands over the stored history of an hour: baselines of that hour are recomputed from it. */
export function setStoredSpendHistory(state: SpendAnomalyState, history: StoredSpendHistory): void {
  if (!state.stored) throw new Error('spend anomaly state keeps its history in memory')
  state.stored.history = history
  for (const s of state.series.values()) s.base = null
}

export function spendAnomalyStateToJSON(s: SpendAnomalyState): SpendAnomalyStateJSON {
  return {
    clock: s.clock,
    series: [...s.series],
    dirty: [...s.dirty],
    lastSweep: s.lastSweep,
    evicted: s.evicted,
    fromStore: s.stored !== null,
  }
}

export function spendAnomalyStateFromJSON(j: SpendAnomalyStateJSON): SpendAnomalyState {
  const series = new Map(j.series)
  const open = new Set([...series].filter(([, s]) => s.incident !== null).map(([k]) => k))
  return {
    clock: j.clock,
    series,
    open,
    dirty: new Set(j.dirty),
    lastSweep: j.lastSweep,
    evicted: j.evicted,
    stored: j.fromStore ? { history: null } : null,
  }
}

/** `spend_anomaly:<scope kind>:<scope id>`. */
export const spendAnomalyKey = (kind: string, id: string): string => dedupeKey('spend_anomaly', kind, id)

const newSeries = (kind: string, id: string, first: number): AnomalySeries => ({
  kind,
  id,
  first,
  lastTs: first,
  hours: newTier(HOUR),
  minutes: newTier(MINUTE),
  counts: newTier(MINUTE),
  base: null,
  incident: null,
})

function touch(
  state: SpendAnomalyState,
  key: string,
  kind: string,
  id: string,
  first: number,
): AnomalySeries {
  let s = state.series.get(key)
  if (s) {
    // LRU to the minute (as the budget ledger's): a series fed within its last minute is already near the
    // young end, and a Map's delete + set on every event of every scope cost ~2/3 of this step
    if (first < s.lastTs + MINUTE) return s
    state.series.delete(key)
  } else s = newSeries(kind, id, first)
  state.series.set(key, s)
  return s
}

type Holder = { scope: SpendAnomalyConfig['scopes'][number]; kind: string }
const holderCache = new WeakMap<SpendAnomalyConfig['scopes'], Holder[]>()

/** The configured scopes with their kind, built once per config. */
function holders(scopes: SpendAnomalyConfig['scopes']): Holder[] {
  let h = holderCache.get(scopes)
  if (!h) holderCache.set(scopes, (h = scopes.map((scope) => ({ scope, kind: budgetScopeKind({ scope }) }))))
  return h
}

/**
 * Counts one event's spend toward every configured scope it falls in (event-time order; `now` =
 * `max(clock, event.ts)`). Judging happens on ticks. A late event is counted (a later tick sees it).
 */
export function stepSpendAnomaly(
  state: SpendAnomalyState,
  e: RequestEvent,
  cfg: SpendAnomalyConfig,
  now: number,
  limits: SpendAnomalyLimits = {},
): Step<SpendAnomalyState> {
  const findings: Finding[] = []
  if (!cfg.enabled) return { state, findings }
  state.clock = Math.max(state.clock, now, e.ts)
  let done: string[] | null = null
  for (const holder of holders(cfg.scopes)) {
    const id = budgetScopeId(holder, e)
    if (id === null) continue
    const kind = holder.kind
    const key = `${kind}\u0000${id}`
    // two configured scopes can name the same series ({ customer: "*" } and { customer: acme })
    if (done?.includes(key)) continue
    ;(done ??= []).push(key)
    const s = touch(state, key, kind, id, e.ts)
    if (!state.stored) tierAdd(s.hours, e.ts, e.cost_usd)
    tierAdd(s.minutes, e.ts, e.cost_usd)
    tierAdd(s.counts, e.ts, 1)
    s.first = Math.min(s.first, e.ts)
    s.lastTs = Math.max(s.lastTs, e.ts)
    if (s.base && Math.floor(e.ts / HOUR) < s.base.hour) s.base = null
    if (s.incident) s.incident.cost += e.cost_usd
    state.dirty.add(key)
  }
  state.evicted += evictOver(state.series, limits.maxSeries ?? 20_000, (key, s) => {
    if (s.incident) findings.push(resolvedEvicted(s, cfg, state.clock))
    state.open.delete(key)
    state.dirty.delete(key)
  })
  return { state, findings }
}

/**
 * What a series reads at `t`: window spend and rate, baseline, threshold, and whether it is an anomaly.
 * `stored`: the store's history of the series for the hour of `t` (when the state has it from the store;
 * absent there: nothing stored in the lookback).
 */
export function readSpendAnomaly(
  s: AnomalySeries,
  cfg: SpendAnomalyConfig,
  t: number,
  stored?: StoredSpendHistory,
): AnomalyReading {
  const w = cfg.window
  tierTrim(s.minutes, t - w - MINUTE)
  tierTrim(s.counts, t - w - MINUTE)
  const h = Math.floor(t / HOUR)
  const past = stored?.series.get(`${s.kind}\u0000${s.id}`)
  // the first stored hour counts whole, as a restart from the stored hours always counted it
  const first = past ? Math.min(s.first, past.first * HOUR) : s.first
  if (!s.base || s.base.hour !== h) {
    // from the store, a series it has no hour of is not judged: new since the last read (too young
    // anyway), or one the rollup cannot tell apart (a team known only by its alias): not a zero baseline
    if (stored) s.base = past ? baselineAt(past.hours, Math.ceil(first / HOUR), h, cfg.weeks) : null
    else {
      tierTrim(s.hours, (h - cfg.weeks * 168 - 2) * HOUR)
      s.base = baselineAt(s.hours, Math.ceil(first / HOUR), h, cfg.weeks)
    }
  }
  const spend = tierSum(s.minutes, t - w, t)
  const requests = Math.round(tierSum(s.counts, t - w, t))
  const rate = spend / (w / HOUR)
  const base = t - first >= cfg.min_history ? s.base : null
  const threshold = base
    ? Math.max(
        base.rate * cfg.factor,
        base.rate + cfg.min_excess_usd_per_hour,
        base.rate + cfg.mad_factor * MAD_SIGMA * base.mad,
      )
    : Infinity
  const above =
    base !== null && spend >= cfg.min_spend_usd && requests >= cfg.min_requests && rate >= threshold
  return { spend, requests, rate, base, threshold, above }
}

/**
 * Start of the excess: the earliest minute of the window that ran above `threshold` on its own and from
 * which on the spend rate stayed above it (a quiet minute inside a spike does not cut it short).
 */
function excessStart(s: AnomalySeries, t: number, threshold: number, window: number): number {
  let since = t
  let acc = 0
  const { starts, sums } = s.minutes
  for (let i = starts.length - 1; i >= 0 && starts[i]! >= t - window; i--) {
    const m = starts[i]!
    if (m >= t) continue
    acc += sums[i]!
    if (acc / ((t - m) / HOUR) < threshold) break
    if (sums[i]! / (MINUTE / HOUR) >= threshold) since = m
  }
  return since === t ? t - window : since
}

/**
 * Judges, at `t`, the series that got spend since the last tick and the open ones: fires when the window
 * rate is at least `factor` times the baseline, `min_excess_usd_per_hour` above it and `mad_factor`
 * robust deviations above it, with at least `min_spend_usd` and `min_requests` in the window; resolves
 * once that has been false for `clear_for`. Hourly, drops series idle past the baseline's reach.
 */
export function tickSpendAnomaly(
  state: SpendAnomalyState,
  cfg: SpendAnomalyConfig,
  now: number,
): Step<SpendAnomalyState> {
  const findings: Finding[] = []
  state.clock = Math.max(state.clock, now)
  if (!cfg.enabled) return { state, findings }
  // from the store, nothing is judged (dirty kept, incidents held) until the hour's history is here
  if (state.stored && state.stored.history?.hour !== Math.floor(now / HOUR)) return { state, findings }
  const stored = state.stored?.history ?? undefined
  const keys = state.open.size === 0 ? state.dirty : new Set([...state.dirty, ...state.open])
  state.dirty = new Set()
  for (const key of keys) {
    const s = state.series.get(key)
    if (!s) {
      state.open.delete(key)
      continue
    }
    const r = readSpendAnomaly(s, cfg, now, stored)
    const inc = s.incident
    if (!inc) {
      if (!r.above) continue
      s.incident = {
        since: excessStart(s, now, r.threshold, cfg.window),
        firedAt: now,
        peakRate: r.rate,
        cost: r.spend,
        clearSince: null,
        baseRate: r.base!.rate,
        restored: false,
      }
      state.open.add(key)
      findings.push(anomalyFinding(s, s.incident, r, 'firing', cfg, now))
    } else if (r.above) {
      inc.clearSince = null
      inc.peakRate = Math.max(inc.peakRate, r.rate)
    } else {
      inc.clearSince ??= now
      if (now - inc.clearSince >= cfg.clear_for) {
        findings.push(anomalyFinding(s, inc, r, 'resolved', cfg, now))
        s.incident = null
        state.open.delete(key)
      }
    }
  }
  if (now - state.lastSweep >= SWEEP_EVERY_MS) {
    state.lastSweep = now
    const idle = now - cfg.weeks * WEEK - 2 * HOUR
    for (const [key, s] of state.series) {
      if (s.lastTs >= idle) break
      if (s.incident) continue
      state.series.delete(key)
    }
  }
  return { state, findings }
}

function resolvedEvicted(s: AnomalySeries, cfg: SpendAnomalyConfig, at: number): Finding {
  const f = anomalyFinding(
    s,
    s.incident!,
    { spend: 0, requests: 0, rate: 0, base: null, threshold: Infinity, above: false },
    'resolved',
    cfg,
    at,
  )
  f.details.reason = 'evicted (state cap)'
  return f
}

/** Open anomaly alert keys (dedupe keys). */
export function openSpendAnomalyKeys(state: SpendAnomalyState): string[] {
  return [...state.open].map((k) => {
    const s = state.series.get(k)!
    return spendAnomalyKey(s.kind, s.id)
  })
}

/** From when recent events must be replayed at a restart (the rest comes from the hourly rollup). */
export function spendAnomalyReplaySince(now: number): number {
  return Math.floor(now / HOUR) * HOUR - HOUR
}

/**
 * The epoch minutes `[fromMinute, toMinute)` whose stored spend a restart at `now` can start from instead
 * of events (`rebuildSpendAnomalyState`'s `minutes`): the minute holding `now - window` (its spend counts
 * pro rata) up to the minute of `now`. Unlike a replay of events up to `now`, what the store holds later
 * in that minute counts too (at most a minute of other instances' or future-dated spend).
 */
export function spendAnomalyMinutesRead(
  cfg: SpendAnomalyConfig,
  now: number,
): { fromMinute: number; toMinute: number } {
  return { fromMinute: Math.floor((now - cfg.window) / MINUTE), toMinute: Math.floor(now / MINUTE) + 1 }
}

/**
 * Series from the store's spend per minute, in place of replayed events. Two scopes naming one series
 * merge as in `storedSpendHistoryFrom` (per minute the larger sum and count: the union's). Least recently
 * seen first, as live (ties by key: the store answers in no set order); `lastTs` is the end of the
 * series' last minute (at most `now`), so every seeded series is judged on the next tick.
 */
function seedFromMinutes(
  state: SpendAnomalyState,
  answers: Iterable<ScopeMinuteSpend>,
  now: number,
  limits: SpendAnomalyLimits | undefined,
): void {
  const merged = new Map<string, { kind: string; id: string; at: Map<number, [number, number]> }>()
  for (const a of answers) {
    const key = `${a.kind}\u0000${a.id}`
    let m = merged.get(key)
    if (!m) merged.set(key, (m = { kind: a.kind, id: a.id, at: new Map() }))
    for (let i = 0; i < a.minutes.length; i++) {
      const [cost, requests] = m.at.get(a.minutes[i]!) ?? [0, 0]
      m.at.set(a.minutes[i]!, [Math.max(cost, a.costs[i]!), Math.max(requests, a.requests[i]!)])
    }
  }
  const seeded: Array<[string, AnomalySeries]> = []
  for (const [key, m] of merged) {
    const minutes = [...m.at.keys()].sort((x, y) => x - y)
    if (minutes.length === 0) continue
    const s = newSeries(m.kind, m.id, minutes[0]! * MINUTE)
    for (const minute of minutes) {
      const [cost, requests] = m.at.get(minute)!
      tierAdd(s.minutes, minute * MINUTE, cost)
      tierAdd(s.counts, minute * MINUTE, requests)
    }
    s.lastTs = Math.min(minutes[minutes.length - 1]! * MINUTE + MINUTE - 1, now)
    seeded.push([key, s])
  }
  seeded.sort((x, y) => x[1].lastTs - y[1].lastTs || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
  for (const [key, s] of seeded) state.series.set(key, s)
  state.evicted += evictOver(state.series, limits?.maxSeries ?? 20_000)
}

/**
 * Rebuilds the state after a restart, silently: from the recent events (from `spendAnomalyReplaySince(now)`
 * on), or, with the hourly history from the store, from the store's spend per minute of the window
 * (`minutes`, read for `spendAnomalyMinutesRead`; `events` are then not looked at). Live, that is what
 * the restart reads: a sum per scope value and minute instead of up to two hours of every event. The hourly
 * history before them is the store's (`fromStore`, live: read again for each hour, see
 * `StoredSpendHistory`); without it (in memory) baselines start from these events. The alerts the store
 * has open (`open`) are taken over as open incidents without a new firing; the next ticks judge them (one
 * still above stays open, one over resolves after `clear_for`). An anomaly going on that the store does not
 * have (lost in a crash) fires on the next tick.
 */
export function rebuildSpendAnomalyState(
  events: Iterable<RequestEvent>,
  cfg: SpendAnomalyConfig,
  opts: {
    open: ReadonlySet<string>
    now: number
    limits?: SpendAnomalyLimits
    fromStore?: boolean
    minutes?: Iterable<ScopeMinuteSpend>
  },
): Step<SpendAnomalyState> {
  const state = initSpendAnomalyState({ fromStore: opts.fromStore })
  const findings: Finding[] = []
  if (!cfg.enabled) return { state, findings }
  if (opts.minutes) {
    // in memory, the hourly baselines would need the events of the hours before
    if (!opts.fromStore) throw new Error('spend per minute from the store needs the hourly history from it')
    seedFromMinutes(state, opts.minutes, opts.now, opts.limits)
  } else {
    const since = spendAnomalyReplaySince(opts.now)
    for (const e of [...events].sort(byEventTime)) {
      if (e.ts < since) continue
      findings.push(...stepSpendAnomaly(state, e, cfg, Math.max(state.clock, e.ts), opts.limits).findings)
    }
  }
  for (const key of opts.open) {
    const k = parseDedupeKey(key)
    if (k?.type !== 'spend_anomaly' || k.parts.length !== 2) continue
    const [kind, id] = k.parts as [string, string]
    const skey = `${kind}\u0000${id}`
    const s = state.series.get(skey) ?? touch(state, skey, kind, id, opts.now)
    s.incident = {
      since: opts.now,
      firedAt: opts.now,
      peakRate: 0,
      cost: 0,
      clearSince: null,
      baseRate: 0,
      restored: true,
    }
    state.open.add(skey)
  }
  state.clock = Math.max(state.clock, opts.now)
  for (const [key, s] of state.series) if (s.lastTs >= opts.now - cfg.window) state.dirty.add(key)
  return { state, findings }
}
