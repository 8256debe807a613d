// Planted spend spikes for the spend anomaly tests and benchmark, and an independent oracle of when each
// one becomes significant (brute force over raw events, no buckets, no cache). Not used by production code.
import {
  initSpendAnomalyState,
  readSpendAnomaly,
  stepSpendAnomaly,
  type SpendAnomalyConfig,
} from '../../core/detectors/spend-anomaly.js'
import { eventDefaults, type RequestEvent } from '../../schemas/request-event.js'
import { prng } from './prng.js'

const HOUR = 3_600_000

/** One planted spike: extra requests of one customer (or unattributed, on one model) for `duration`. */
export interface Spike {
  name: string
  /** The scope that should fire (the spike's events also carry a key and an endpoint of their own). */
  scope: { kind: 'customer' | 'model'; id: string }
  start: number
  duration: number
  /** Extra spend per hour (USD/h) and requests per minute. */
  usdPerHour: number
  perMinute: number
}

/** The spike's events: their own key, endpoint and (for a customer) model, new scopes too young to judge, so only `scope` fires. */
export function spikeEvents(s: Spike, seed = 7): RequestEvent[] {
  const rnd = prng(seed)
  const n = Math.round((s.duration / 60_000) * s.perMinute)
  const cost = s.usdPerHour / 60 / s.perMinute
  return Array.from({ length: n }, (_, i) => {
    const ts = s.start + Math.floor((i * s.duration) / n + rnd() * (s.duration / n))
    return {
      ...eventDefaults(),
      event_id: `${s.name}-${i}`,
      ts,
      end_ts: ts + 900,
      duration_ms: 900,
      source: 'litellm_http' as const,
      gateway: 'bench',
      endpoint: `${s.name}/chat/completions`,
      provider: 'openai',
      call_type: 'acompletion',
      model_requested: s.scope.kind === 'model' ? s.scope.id : `${s.name}-model`,
      model: s.scope.kind === 'model' ? s.scope.id : `${s.name}-model`,
      customer: s.scope.kind === 'customer' ? s.scope.id : '',
      api_key_hash: `${s.name}-key`,
      cost_usd: Math.round(cost * (0.5 + rnd()) * 1e6) / 1e6,
      input_tokens: 1000,
      output_tokens: 300,
      http_status: 200,
      fingerprint: `${s.name}-fp-${i}`,
    }
  })
}

/** Merges time-ordered iterables into one time-ordered stream (lazy). */
export function* mergeByTime(...sources: Iterable<RequestEvent>[]): Generator<RequestEvent> {
  const its = sources.map((s) => s[Symbol.iterator]())
  const heads = its.map((it) => it.next())
  for (;;) {
    let best = -1
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!
      if (!h.done && (best < 0 || h.value.ts < (heads[best]!.value as RequestEvent).ts)) best = i
    }
    if (best < 0) return
    yield heads[best]!.value as RequestEvent
    heads[best] = its[best]!.next()
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * The first tick instant at or after `from` (up to `to`) at which the rule of the issue holds for one
 * scope, computed from the raw events of that scope: window spend per hour at least factor x baseline,
 * min_excess above it and mad_factor robust deviations above it, with the window minimums; baseline the
 * largest per-hour median of hours h-1, h, h+1 of the same hour of week (2+ weeks known) or of day.
 * `events` are the scope's events only (all of them, history included), time-ordered.
 */
export function oracleCrossing(
  events: readonly RequestEvent[],
  cfg: SpendAnomalyConfig,
  tick: number,
  from: number,
  to: number,
): number | null {
  const first = events[0]?.ts ?? Infinity
  const firstHour = Math.ceil(first / HOUR)
  const byHour = new Map<number, number>()
  for (const e of events) {
    const h = Math.floor(e.ts / HOUR)
    byHour.set(h, (byHour.get(h) ?? 0) + e.cost_usd)
  }
  const spendAt = (h: number) => byHour.get(h) ?? 0
  const near = events.filter((e) => e.ts >= from - cfg.window && e.ts < to)
  const seasonal = (h: number, period: number, n: number, min: number) => {
    const at = (x: number) => {
      const xs: number[] = []
      for (let k = 1; k <= n && x - period * k >= firstHour; k++) xs.push(spendAt(x - period * k))
      return xs
    }
    const center = at(h)
    if (center.length < min) return null
    const med = median(center)
    let rate = med
    for (const d of [-1, 1]) {
      const xs = at(h + d)
      if (xs.length >= min) rate = Math.max(rate, median(xs))
    }
    return { rate, mad: median(center.map((x) => Math.abs(x - med))) }
  }
  for (let t = Math.ceil(from / tick) * tick; t <= to; t += tick) {
    if (t - first < cfg.min_history) continue
    const h = Math.floor(t / HOUR)
    let base = seasonal(h, 168, cfg.weeks, 2) ?? seasonal(h, 24, 7, 1)
    if (!base) {
      let rate = 0
      for (let x = firstHour; x < h; x++) rate = Math.max(rate, spendAt(x))
      base = { rate, mad: 0 }
    }
    let spend = 0
    let requests = 0
    for (const e of near)
      if (e.ts >= t - cfg.window && e.ts < t) {
        spend += e.cost_usd
        requests++
      }
    const rate = spend / (cfg.window / HOUR)
    const threshold = Math.max(
      base.rate * cfg.factor,
      base.rate + cfg.min_excess_usd_per_hour,
      base.rate + cfg.mad_factor * 1.4826 * base.mad,
    )
    if (spend >= cfg.min_spend_usd && requests >= cfg.min_requests && rate >= threshold) return t
  }
  return null
}

/** The highest reading of one scope kind: how far above its baseline clean traffic got. */
export interface WorstReading {
  readings: number
  ratio: number
  ratioAt: string
  excess: number
  excessAt: string
}

/**
 * Every reading the detector takes of `events` (each tick, each scope with spend since the last tick) that
 * has a baseline and meets the window minimums, reduced to the highest ratio and excess per scope kind:
 * how close clean traffic comes to the thresholds (the calibration of the defaults).
 */
export function worstReadings(
  events: Iterable<RequestEvent>,
  cfg: SpendAnomalyConfig,
  tick: number,
): Map<string, WorstReading> {
  const state = initSpendAnomalyState()
  const worst = new Map<string, WorstReading>()
  let nextTick: number | null = null
  const judge = (t: number) => {
    for (const key of state.dirty) {
      const s = state.series.get(key)!
      const r = readSpendAnomaly(s, cfg, t)
      if (!r.base || r.requests < cfg.min_requests || r.spend < cfg.min_spend_usd) continue
      const w = worst.get(s.kind) ?? { readings: 0, ratio: 0, ratioAt: '', excess: -Infinity, excessAt: '' }
      w.readings++
      const ratio = r.base.rate > 0 ? r.rate / r.base.rate : Infinity
      const label = `${s.kind} ${s.id} at ${new Date(t).toISOString()}: $${r.rate.toFixed(2)}/h vs ${r.base.kind} $${r.base.rate.toFixed(2)}/h`
      if (ratio > w.ratio) {
        w.ratio = ratio
        w.ratioAt = label
      }
      if (r.rate - r.base.rate > w.excess) {
        w.excess = r.rate - r.base.rate
        w.excessAt = label
      }
      worst.set(s.kind, w)
    }
    state.dirty.clear()
  }
  for (const e of events) {
    nextTick ??= Math.floor(e.ts / tick) * tick + tick
    for (; nextTick <= e.ts; nextTick += tick) judge(nextTick)
    stepSpendAnomaly(state, e, cfg, e.ts)
  }
  return worst
}
