import type { Budget, DetectorsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { budgetScopeId, budgetScopeValue, budgetSeriesPrefix, isEachBudget } from './budget-scope.js'
import { memoPeriod, type Period, type PeriodMemo } from './periods.js'
import { evictOver } from './lru.js'
import { newTier, tierAdd, tierSum, tierTrim, type BucketTier } from './spend-buckets.js'

/**
 * What the budget detectors see: aggregated spend of one budget scope at one instant. With N instances
 * the live engine builds it from global sums in the store (SpendReader port); `BudgetSpendLedger` builds it
 * in process (replay runner, tests). Both go through `evaluateBudgetRound` (core/budgets).
 */
export interface BudgetSnapshot {
  budget: Budget
  /** '' for a global budget, the configured value for a fixed one, the value seen for a `*` budget. */
  scopeId: string
  /** The instant (epoch ms) the numbers are for. */
  at: number
  /** The budget's calendar period containing `at`. */
  period: Period
  /** Spend in `[period.start, at)`. */
  periodSpend: number
  /** Spend in `[at - w, at)` for every burn-rate window `w` (ms), long and short. */
  windowSpend: Record<number, number>
}

/** A budget scope an event counted toward. */
export interface BudgetTarget {
  budget: Budget
  scopeId: string
}

export interface BudgetSpendLedgerOptions {
  /** Fine bucket width (default 1 minute). */
  fineBucketMs?: number
  /** How far back fine buckets are kept; windows up to this long are summed from them (default 6 h). */
  fineSpanMs?: number
  /** Coarse bucket width, for longer windows (default 1 hour). */
  coarseBucketMs?: number
  /** Most scope series kept; beyond, the least recently fed 10% are evicted (default 10 000). */
  maxScopes?: number
}

interface PeriodTotal {
  start: number
  end: number
  total: number
}

interface Series {
  fine: BucketTier
  coarse: BucketTier
  /** Period-to-date totals per `period|timezone`: the current period and the one before (late events). */
  periods: Record<string, PeriodTotal[]>
  /** Latest event time fed. */
  lastTs: number
}

/** JSON form of a ledger (series in LRU order, oldest first). */
export interface BudgetSpendLedgerJSON {
  series: Array<[string, Series]>
  evicted: number
}

const periodKey = (b: Budget): string => `${b.period}|${b.timezone}`
const seriesKey = (b: Budget, scopeId: string): string => budgetSeriesPrefix(b) + scopeId

/** Every window (ms) the burn-rate pairs use, long and short, ascending and distinct. */
export function burnWindows(cfg: Pick<DetectorsConfig, 'burn_rate'>): number[] {
  const all = cfg.burn_rate.windows.flatMap((w) => [w.long, w.short])
  return [...new Set(all)].sort((a, b) => a - b)
}

/**
 * In-process spend aggregation for the budget detectors (the replay runner's spend source; live, the
 * store's sums take its place): one series per budget scope (a `*` budget
 * gets one per value seen), each with two sparse tiers of time buckets (1-minute buckets for the last
 * `fineSpanMs`, 1-hour buckets back to the longest window) and exact period-to-date totals kept apart.
 *
 * Precision: period spend is exact. A window sum is exact when `at` and `at - w` fall on bucket
 * boundaries (minutes for windows up to `fineSpanMs`, hours beyond); otherwise the bucket holding
 * `at - w` counts pro rata (spend assumed even across it: error below that one bucket's spend), and
 * the bucket holding `at` counts whole, which is exact as long as nothing at or after `at` was added
 * (the runner guarantees it by feeding events in event-time order behind the watermark).
 *
 * Memory: at most `maxScopes` series (LRU); a series idle longer than the longest window whose periods
 * have all ended is dropped by `sweep`. An evicted series restarts from zero (its period-to-date total is
 * lost: in the engine the store answers period totals, so this only affects in-process replay).
 * Events older than the previous period are not counted in period totals.
 */
export class BudgetSpendLedger {
  readonly budgets: readonly Budget[]
  readonly windows: readonly number[]
  private readonly fineBucket: number
  private readonly fineSpan: number
  private readonly coarseBucket: number
  private readonly retention: number
  private readonly maxScopes: number
  private readonly memos = new Map<string, PeriodMemo>()
  private readonly plans = new Map<Budget, { prefix: string; pk: string; memo: PeriodMemo }>()
  private series = new Map<string, Series>()
  /** Series evicted by the `maxScopes` cap so far. */
  evicted = 0

  constructor(budgets: readonly Budget[], windows: readonly number[], opts: BudgetSpendLedgerOptions = {}) {
    this.budgets = budgets
    this.windows = [...windows]
    this.fineBucket = opts.fineBucketMs ?? 60_000
    this.fineSpan = opts.fineSpanMs ?? 6 * 3_600_000
    this.coarseBucket = opts.coarseBucketMs ?? 3_600_000
    this.maxScopes = opts.maxScopes ?? 10_000
    this.retention = Math.max(0, ...windows) + this.coarseBucket
    for (const b of budgets) this.plan(b)
  }

  /** Per-budget constants (series key prefix, period key, period memo), computed once. */
  private plan(b: Budget): { prefix: string; pk: string; memo: PeriodMemo } {
    let p = this.plans.get(b)
    if (!p) {
      const pk = periodKey(b)
      let memo = this.memos.get(pk)
      if (!memo) this.memos.set(pk, (memo = { kind: b.period, timezone: b.timezone, last: null }))
      p = { prefix: seriesKey(b, ''), pk, memo }
      this.plans.set(b, p)
    }
    return p
  }

  /** Number of series held. */
  get size(): number {
    return this.series.size
  }

  /** Counts one event toward every budget scope it belongs to; returns those scopes. */
  add(e: RequestEvent): BudgetTarget[] {
    const targets: BudgetTarget[] = []
    const fed: string[] = []
    for (const budget of this.budgets) {
      const scopeId = budgetScopeId(budget, e)
      if (scopeId === null) continue
      targets.push({ budget, scopeId })
      const { prefix, pk, memo } = this.plan(budget)
      const key = prefix + scopeId
      const both = `${key}\u0002${pk}`
      if (fed.includes(both)) continue
      const s = this.touch(key, e.ts)
      if (!fed.includes(key)) {
        fed.push(key)
        this.feedBuckets(s, e.ts, e.cost_usd)
      }
      fed.push(both)
      this.feedPeriod(s, pk, memo, e.ts, e.cost_usd)
    }
    return targets
  }

  /** The budget's period containing `at` (memoised: one calendar lookup per period). */
  period(budget: Budget, at: number): Period {
    return memoPeriod(this.plan(budget).memo, at)
  }

  /** The snapshot of one budget scope at `at` (zeros for a scope never seen). */
  snapshot(budget: Budget, scopeId: string, at: number): BudgetSnapshot {
    const { prefix, pk, memo } = this.plan(budget)
    const period = memoPeriod(memo, at)
    const s = this.series.get(prefix + scopeId)
    const periodSpend = s?.periods[pk]?.find((p) => p.start === period.start)?.total ?? 0
    const windowSpend: Record<number, number> = {}
    for (const w of this.windows) {
      windowSpend[w] = s ? tierSum(w <= this.fineSpan ? s.fine : s.coarse, at - w, at) : 0
    }
    return { budget, scopeId, at, period, periodSpend, windowSpend }
  }

  /** Scope ids held for a budget: its one id for a fixed or global budget, every value seen for `*`. */
  scopeIds(budget: Budget): string[] {
    if (!isEachBudget(budget)) return [budgetScopeValue(budget)]
    const { prefix } = this.plan(budget)
    const out: string[] = []
    for (const k of this.series.keys()) if (k.startsWith(prefix)) out.push(k.slice(prefix.length))
    return out.sort()
  }

  /** Snapshots of every budget scope held, at `at`. */
  snapshots(at: number): BudgetSnapshot[] {
    return this.budgets.flatMap((b) => this.scopeIds(b).map((id) => this.snapshot(b, id, at)))
  }

  /** Drops series idle for longer than the longest window whose periods have all ended. */
  sweep(now: number): void {
    for (const [key, s] of this.series) {
      if (s.lastTs > now - this.retention) break
      const live = Object.values(s.periods).some((ps) => ps.some((p) => p.end > now))
      if (live) continue
      this.series.delete(key)
    }
  }

  toJSON(): BudgetSpendLedgerJSON {
    return { series: [...this.series], evicted: this.evicted }
  }

  /** Rebuilds a ledger from `toJSON()` output, with the same budgets, windows and options. */
  static fromJSON(
    json: BudgetSpendLedgerJSON,
    budgets: readonly Budget[],
    windows: readonly number[],
    opts: BudgetSpendLedgerOptions = {},
  ): BudgetSpendLedger {
    const l = new BudgetSpendLedger(budgets, windows, opts)
    l.series = new Map(json.series)
    l.evicted = json.evicted
    return l
  }

  private touch(key: string, ts: number): Series {
    let s = this.series.get(key)
    if (s) {
      // LRU to the minute: a series fed within the last bucket is already near the young end.
      if (ts < s.lastTs + this.fineBucket) {
        s.lastTs = Math.max(s.lastTs, ts)
        return s
      }
      this.series.delete(key)
      s.lastTs = Math.max(s.lastTs, ts)
    } else {
      s = { fine: newTier(this.fineBucket), coarse: newTier(this.coarseBucket), periods: {}, lastTs: ts }
    }
    this.series.set(key, s)
    this.evicted += evictOver(this.series, this.maxScopes)
    return s
  }

  private feedBuckets(s: Series, ts: number, cost: number): void {
    const fineFloor = s.lastTs - this.fineSpan
    if (ts >= fineFloor) tierAdd(s.fine, ts, cost)
    if (ts >= s.lastTs - this.retention) tierAdd(s.coarse, ts, cost)
    tierTrim(s.fine, fineFloor)
    tierTrim(s.coarse, s.lastTs - this.retention)
  }

  private feedPeriod(s: Series, pk: string, memo: PeriodMemo, ts: number, cost: number): void {
    const p = memoPeriod(memo, ts)
    const list = (s.periods[pk] ??= [])
    const hit = list.find((x) => x.start === p.start)
    if (hit) hit.total += cost
    else if (list.every((x) => x.start < p.start)) {
      list.push({ start: p.start, end: p.end, total: cost })
      if (list.length > 2) list.shift()
    }
    // else: older than the previous period; too late to count toward a period total.
  }
}
