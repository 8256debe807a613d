import type { Budget, DetectorsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { ScopeMinuteSpend } from '../ports/minute-spend-reader.js'
import {
  budgetPlan,
  evaluateBudgetRound,
  initBudgetAlertState,
  isBudgetStateEmpty,
  openBudgetScopes,
  restoreBudgetAlertState,
  retireBudgets,
  type BudgetAlertState,
  type BudgetPlan,
  type BudgetSpend,
} from '../budgets/budget-round.js'
import type { BudgetExhaustionState } from './budget-exhaustion.js'
import type { BurnRateState } from './burn-rate.js'
import type { Finding } from './finding.js'
import { byEventTime } from './restore.js'
import {
  initLoopState,
  loopStateFromJSON,
  loopStateToJSON,
  loopOpen,
  loopTargets,
  previewLoop,
  rebuildLoopState,
  stepLoop,
  tickLoop,
  type LoopLimits,
  type LoopTarget,
  type LoopState,
  type LoopStateJSON,
} from './loop.js'
import {
  BudgetSpendLedger,
  type BudgetSpendLedgerJSON,
  type BudgetSpendLedgerOptions,
} from './spend-snapshot.js'
import {
  bufferPeek,
  bufferPop,
  bufferPush,
  initReorderBuffer,
  watermark,
  type ReorderBuffer,
} from './watermark.js'
import {
  initSpendAnomalyState,
  rebuildSpendAnomalyState,
  spendAnomalyStateFromJSON,
  spendAnomalyStateToJSON,
  stepSpendAnomaly,
  tickSpendAnomaly,
  setStoredSpendHistory,
  storedSpendHistoryWanted,
  type StoredSpendHistory,
  type SpendAnomalyLimits,
  type SpendAnomalyState,
  type SpendAnomalyStateJSON,
} from './spend-anomaly.js'
import {
  agentIdentity,
  initZombieState,
  previewZombie,
  rebuildZombieState,
  stepZombie,
  tickZombie,
  zombieStateFromJSON,
  zombieStateToJSON,
  type ZombieLimits,
  type ZombieState,
  type ZombieStateJSON,
} from './zombie.js'

/** What the detectors need from the configuration. */
export interface DetectorPolicy {
  budgets: readonly Budget[]
  detectors: DetectorsConfig
}

export interface RunnerOptions {
  ledger?: BudgetSpendLedgerOptions
  loop?: LoopLimits
  zombie?: ZombieLimits
  anomaly?: SpendAnomalyLimits
  /** Most events waiting behind the watermark; beyond, the oldest leave early (default 200 000). */
  maxPending?: number
  /**
   * Fire on arrival (the live engine): a loop or zombie firing condition is judged when the event that
   * completes it arrives, from the delivered state plus the events still behind the watermark, instead
   * of when the watermark releases that event (`allowed_lateness` later). Resolutions, budgets and spend
   * anomalies still wait for the watermark; the ordered evaluation's own firing of an announced incident
   * is not emitted again (one incident, one firing), and an announced firing it does not confirm by the
   * time the watermark passes it is resolved (`unconfirmed`). Off by default: replays and the exactness
   * tests keep the ordered emission (same findings in any arrival order within `allowed_lateness`).
   */
  fireOnArrival?: boolean
}

/** Most waiting events of one key a fire-on-arrival preview replays; beyond, that key fires at the watermark. */
export const PREVIEW_MAX_PENDING = 2_000

/** A firing emitted on arrival, waiting for the ordered evaluation to reach it. */
export interface Announcement {
  finding: Finding
  /** The loop state's entry key (loops only): whether the ordered evaluation has the incident open. */
  entry?: string
}

export interface RunnerStats {
  events: number
  /** Events that reached the detectors behind their clock (later than `allowed_lateness`). */
  late: number
  ticks: number
  findings: number
  /** Firings emitted on arrival (fire-on-arrival mode). */
  early?: number
  /** Announced firings the ordered evaluation did not confirm (resolved as `unconfirmed`). */
  unconfirmed?: number
}

/** JSON form of a runner (everything needed to go on after a restart). */
export interface RunnerJSON {
  buffer: ReorderBuffer
  clock: number
  nextTick: number | null
  dirty: string[]
  ledger: BudgetSpendLedgerJSON
  loop: LoopStateJSON
  zombie: ZombieStateJSON
  /** Absent in runners saved before the spend anomaly detector. */
  anomaly?: SpendAnomalyStateJSON
  burn: BurnRateState
  exhaustion: BudgetExhaustionState
  stats: RunnerStats
  /** Fire-on-arrival firings not yet reached by the ordered evaluation (absent before that mode). */
  announced?: Array<[string, Announcement]>
}

const SWEEP_EVERY_MS = 3_600_000
/** Event-time gap caught up tick by tick; beyond it, one jump to the last tick. */
const MAX_CATCH_UP_MS = 86_400_000

/**
 * Runs all four detectors over one event stream in event time: events wait behind the watermark, leave
 * in event-time order, and ticks (every `detectors.tick`, on multiples of it) interleave with them by
 * event time (a tick at t runs before events at t or later). Loops and zombies step per event and tick;
 * budget detectors evaluate on ticks, from an in-process `BudgetSpendLedger`, the budget scopes that got spend
 * since the previous tick plus those whose open alerts time alone can change (a quiet scope's windows
 * only shrink, so it cannot start firing). Deterministic: same events (in any order within
 * `allowed_lateness`) and config, same findings.
 */
export class DetectorRunner {
  readonly policy: DetectorPolicy
  private readonly opts: RunnerOptions
  private buffer = initReorderBuffer()
  private clock = -1
  private nextTick: number | null = null
  private dirty = new Set<string>()
  private ledger: BudgetSpendLedger
  private loop: LoopState = initLoopState()
  private zombie: ZombieState = initZombieState()
  private anomaly: SpendAnomalyState = initSpendAnomalyState()
  private budgetState: BudgetAlertState = initBudgetAlertState()
  private readonly budgetSlot = new Map<Budget, number>()
  private lastSweep = -Infinity
  private readonly plan: BudgetPlan
  readonly stats: RunnerStats = { events: 0, late: 0, ticks: 0, findings: 0 }
  /** Fire on arrival: waiting events by loop entry (`L\0<entry key>`) and agent (`Z\0<agent>`). */
  private readonly pendingBy = new Map<string, RequestEvent[]>()
  /** Fire on arrival: each waiting event's loop targets and pending keys, computed once at arrival. */
  private readonly pendingOf = new Map<RequestEvent, { targets: LoopTarget[]; keys: string[] }>()
  /** Fire on arrival: firings emitted early, by dedupe key. */
  private announced = new Map<string, Announcement>()

  constructor(policy: DetectorPolicy, opts: RunnerOptions = {}) {
    this.policy = policy
    this.opts = opts
    this.plan = budgetPlan(policy)
    this.ledger = new BudgetSpendLedger(policy.budgets, this.plan.windows, opts.ledger)
    policy.budgets.forEach((b, i) => this.budgetSlot.set(b, i))
  }

  private get cfg(): DetectorsConfig {
    return this.policy.detectors
  }

  /** Takes one event; returns the findings of whatever the watermark now lets through. */
  push(e: RequestEvent): Finding[] {
    const out: Finding[] = []
    bufferPush(this.buffer, e)
    const early = this.opts.fireOnArrival === true
    if (early) this.index(e)
    const max = this.opts.maxPending ?? 200_000
    while (this.buffer.heap.length > max) this.deliver(bufferPop(this.buffer)!, out)
    this.release(watermark(this.buffer, this.cfg.allowed_lateness), out)
    const waiting = early ? this.pendingOf.get(e) : undefined
    if (waiting) this.preview(e, waiting.targets, out)
    return out
  }

  private index(e: RequestEvent): void {
    const targets = loopTargets(e, this.cfg.loop)
    const keys = targets.map((t) => `L\u0000${t.key}`)
    if (this.cfg.zombie.enabled) {
      const agent = agentIdentity(e, this.cfg.zombie)
      if (agent !== '') keys.push(`Z\u0000${agent}`)
    }
    this.pendingOf.set(e, { targets, keys })
    for (const k of keys) {
      const list = this.pendingBy.get(k)
      if (list) list.push(e)
      else this.pendingBy.set(k, [e])
    }
  }

  /** Takes `e` out of the waiting index; its loop targets when it was there. */
  private unindex(e: RequestEvent): LoopTarget[] | undefined {
    const waiting = this.pendingOf.get(e)
    if (!waiting) return undefined
    this.pendingOf.delete(e)
    for (const k of waiting.keys) {
      const list = this.pendingBy.get(k)
      if (!list) continue
      const i = list.indexOf(e)
      if (i >= 0) list.splice(i, 1)
      if (list.length === 0) this.pendingBy.delete(k)
    }
    return waiting.targets
  }

  /** Fire on arrival: what the waiting events of `e`'s keys will fire once delivered, emitted now. */
  private preview(e: RequestEvent, targets: readonly LoopTarget[], out: Finding[]): void {
    const cfg = this.cfg
    const waiting = (k: string): RequestEvent[] | null => {
      const list = this.pendingBy.get(k)
      if (!list || list.length > PREVIEW_MAX_PENDING) return null
      return list.length === 1 ? list : [...list].sort(byEventTime)
    }
    for (const target of targets) {
      if (loopOpen(this.loop, target.key)) continue
      const list = waiting(`L\u0000${target.key}`)
      if (!list) continue
      const f = previewLoop(this.loop, target, list, cfg.loop)
      if (f && !this.announced.has(f.dedupe_key)) this.announce(f, out, target.key)
    }
    if (cfg.zombie.enabled) {
      const agent = agentIdentity(e, cfg.zombie)
      // the list is sorted only when the arriving event passes the detector's cheap gates
      const list = () => (agent === '' ? null : waiting(`Z\u0000${agent}`)) ?? []
      if (agent !== '' && (this.pendingBy.get(`Z\u0000${agent}`)?.length ?? 0) <= PREVIEW_MAX_PENDING)
        for (const f of previewZombie(this.zombie, agent, e, list, cfg.zombie))
          if (!this.announced.has(f.dedupe_key)) this.announce(f, out)
    }
  }

  private announce(f: Finding, out: Finding[], entry?: string): void {
    this.announced.set(f.dedupe_key, entry === undefined ? { finding: f } : { finding: f, entry })
    this.stats.early = (this.stats.early ?? 0) + 1
    this.stats.findings++
    out.push(f)
  }

  /**
   * Announcements the ordered evaluation has passed (every event before `t` is delivered) without firing
   * them: still open there = fine (it was open already); else resolved now, once, as unconfirmed.
   */
  private settleAnnouncements(t: number, out: Finding[]): void {
    if (this.announced.size === 0) return
    for (const [key, a] of this.announced) {
      if (a.finding.at >= t) continue
      this.announced.delete(key)
      const open = a.entry !== undefined ? loopOpen(this.loop, a.entry) : this.zombie.open.has(key)
      if (open) continue
      this.stats.unconfirmed = (this.stats.unconfirmed ?? 0) + 1
      const { action: _action, ...f } = a.finding
      void _action
      this.emit(out, [
        {
          ...f,
          state: 'resolved',
          at: t,
          summary: `${f.summary} (not confirmed once the events before it were all in)`,
          details: { ...f.details, reason: 'unconfirmed' },
        },
      ])
    }
  }

  /** Live: the injected clock (event-time scale) moves the watermark on when traffic is quiet. */
  advance(now: number): Finding[] {
    const out: Finding[] = []
    this.release(watermark(this.buffer, this.cfg.allowed_lateness, now), out)
    return out
  }

  /** End of a replay: lets every waiting event through and ticks up to the last event time. */
  flush(): Finding[] {
    const out: Finding[] = []
    this.release(Infinity, out)
    this.ticksUpTo(this.buffer.maxTs, out)
    return out
  }

  /** Runs ticks up to `t` (event time) with no new events: lets time resolve what it resolves. */
  tickUntil(t: number): Finding[] {
    const out: Finding[] = []
    this.release(Infinity, out)
    this.ticksUpTo(t, out)
    return out
  }

  private release(w: number, out: Finding[]): void {
    for (let e = bufferPeek(this.buffer); e !== undefined && e.ts < w; e = bufferPeek(this.buffer)) {
      bufferPop(this.buffer)
      this.ticksUpTo(e.ts, out)
      this.deliver(e, out)
    }
    if (Number.isFinite(w)) this.ticksUpTo(w, out)
  }

  private ticksUpTo(t: number, out: Finding[]): void {
    if (this.nextTick === null) return
    const step = this.cfg.tick
    const catchUpEnd = this.nextTick + MAX_CATCH_UP_MS
    while (this.nextTick <= t) {
      // With nothing open and nothing new, ticks change nothing: jump to the last one (it still sweeps).
      // Past a day of catch-up (a gap in traffic, a timestamp far ahead), jump too: loop and zombie
      // resolutions carry their exact instants anyway; budget ones land on that last tick.
      const jump = this.nextTick + step <= t && (this.idle() || this.nextTick >= catchUpEnd)
      if (jump) this.nextTick += Math.floor((t - this.nextTick) / step) * step
      this.tick(this.nextTick, out)
      this.nextTick += step
    }
  }

  /**
   * The epoch hour whose stored spend history the spend anomaly detector waits for at `now` (restored
   * with `spendHistoryFromStore`), or null. Until it is handed over (`setSpendHistory`) anomalies are not
   * judged; every other detector runs.
   */
  spendHistoryWanted(now: number): number | null {
    return storedSpendHistoryWanted(this.anomaly, this.cfg.spend_anomaly, Math.max(now, this.clock))
  }

  setSpendHistory(history: StoredSpendHistory): void {
    setStoredSpendHistory(this.anomaly, history)
  }

  /** True when no tick can produce a finding: no open incident, no budget entry, no new spend. */
  private idle(): boolean {
    if (this.dirty.size > 0 || this.loop.open.size > 0 || this.zombie.open.size > 0) return false
    if (this.announced.size > 0) return false
    if (this.anomaly.dirty.size > 0 || this.anomaly.open.size > 0) return false
    return isBudgetStateEmpty(this.budgetState)
  }

  private deliver(e: RequestEvent, out: Finding[]): void {
    const cfg = this.cfg
    const targets = this.unindex(e)
    this.stats.events++
    if (e.ts < this.clock) this.stats.late++
    this.nextTick ??= Math.floor(e.ts / cfg.tick) * cfg.tick + cfg.tick
    const now = Math.max(this.clock, e.ts)
    this.clock = now
    const l = stepLoop(this.loop, e, cfg.loop, now, this.opts.loop, targets)
    this.loop = l.state
    const z = stepZombie(this.zombie, e, cfg.zombie, now, this.opts.zombie)
    this.zombie = z.state
    const a = stepSpendAnomaly(this.anomaly, e, cfg.spend_anomaly, now, this.opts.anomaly)
    this.anomaly = a.state
    this.emit(out, l.findings, z.findings, a.findings)
    for (const t of this.ledger.add(e)) this.dirty.add(`${this.budgetSlot.get(t.budget)}\u0000${t.scopeId}`)
  }

  private tick(t: number, out: Finding[]): void {
    const cfg = this.cfg
    this.stats.ticks++
    this.clock = Math.max(this.clock, t)
    const l = tickLoop(this.loop, cfg.loop, t)
    this.loop = l.state
    const z = tickZombie(this.zombie, cfg.zombie, t)
    this.zombie = z.state
    const a = tickSpendAnomaly(this.anomaly, cfg.spend_anomaly, t)
    this.anomaly = a.state
    this.emit(out, l.findings, z.findings, a.findings)
    this.settleAnnouncements(t, out)
    this.evaluateBudgets(t, out)
    if (t - this.lastSweep >= SWEEP_EVERY_MS) {
      this.ledger.sweep(t)
      this.lastSweep = t
    }
  }

  /** The ledger's side of a budget round: scopes with new spend since the last tick, plus open ones. */
  private evaluateBudgets(t: number, out: Finding[]): void {
    const dirty = this.dirty
    this.dirty = new Set()
    const openNames = new Set(openBudgetScopes(this.budgetState, this.cfg, t).map((s) => s.budget))
    if (dirty.size === 0 && openNames.size === 0) return
    const fresh = new Map<number, string[]>()
    for (const key of dirty) {
      const sep = key.indexOf('\u0000')
      const i = Number(key.slice(0, sep))
      const ids = fresh.get(i)
      if (ids) ids.push(key.slice(sep + 1))
      else fresh.set(i, [key.slice(sep + 1)])
    }
    const inputs: BudgetSpend[] = []
    this.policy.budgets.forEach((budget, i) => {
      const ids = fresh.get(i)
      if (!ids && !openNames.has(budget.name)) return
      const row = (scopeId: string) => this.ledger.snapshot(budget, scopeId, t)
      inputs.push({ budget, period: this.ledger.period(budget, t), rows: (ids ?? []).map(row), spendOf: row })
    })
    const s = evaluateBudgetRound(this.budgetState, this.policy, this.plan, inputs, t)
    this.budgetState = s.state
    this.emit(out, s.findings)
  }

  private emit(out: Finding[], ...lists: Finding[][]): void {
    for (const l of lists) {
      for (const f of l) {
        // fire on arrival: the ordered evaluation reaching a firing already announced (one incident, one firing)
        if (f.state === 'firing' && this.announced.delete(f.dedupe_key)) continue
        out.push(f)
        this.stats.findings++
      }
    }
  }

  /** Sizes of the bounded parts (for tests and metrics). */
  sizes(): {
    pending: number
    ledgerScopes: number
    loopEntries: number
    agents: number
    sessions: number
    anomalySeries: number
  } {
    return {
      pending: this.buffer.heap.length,
      ledgerScopes: this.ledger.size,
      loopEntries: this.loop.entries.size,
      agents: this.zombie.agents.size,
      sessions: this.zombie.sessions.size,
      anomalySeries: this.anomaly.series.size,
    }
  }

  toJSON(): RunnerJSON {
    return {
      buffer: this.buffer,
      clock: this.clock,
      nextTick: this.nextTick,
      dirty: [...this.dirty],
      ledger: this.ledger.toJSON(),
      loop: loopStateToJSON(this.loop),
      zombie: zombieStateToJSON(this.zombie),
      anomaly: spendAnomalyStateToJSON(this.anomaly),
      burn: this.budgetState.burn,
      exhaustion: this.budgetState.exhaustion,
      stats: this.stats,
      ...(this.announced.size > 0 ? { announced: [...this.announced] } : {}),
    }
  }

  /** A runner that goes on exactly where `toJSON` left off (same policy and options). */
  static fromJSON(json: RunnerJSON, policy: DetectorPolicy, opts: RunnerOptions = {}): DetectorRunner {
    const r = new DetectorRunner(policy, opts)
    r.buffer = json.buffer
    r.clock = json.clock
    r.nextTick = json.nextTick
    r.dirty = new Set(json.dirty)
    r.ledger = BudgetSpendLedger.fromJSON(json.ledger, policy.budgets, r.plan.windows, opts.ledger)
    r.loop = loopStateFromJSON(json.loop)
    r.zombie = zombieStateFromJSON(json.zombie)
    if (json.anomaly) r.anomaly = spendAnomalyStateFromJSON(json.anomaly)
    r.budgetState = { burn: json.burn, exhaustion: json.exhaustion }
    Object.assign(r.stats, json.stats)
    r.announced = new Map(json.announced ?? [])
    if (opts.fireOnArrival) for (const e of r.buffer.heap) r.index(e)
    return r
  }

  /**
   * A runner rebuilt after a restart without saved state: loop and zombie state replayed from recent
   * events (see `loopReplaySince`, `zombieReplaySince`), budget alert state from the open alert keys,
   * the ledger fed with the same events (in process it only knows those; the engine reads period totals
   * from the store). `findings` reconcile the open alerts with the replay (no re-firing) and resolve
   * open alerts of budgets no longer configured.
   */
  static restore(
    policy: DetectorPolicy,
    input: {
      events: readonly RequestEvent[]
      open: ReadonlySet<string>
      now: number
      lastSeen?: Iterable<[string, number]>
      /** The spend anomaly history comes from the store (`setSpendHistory`, each hour), not memory. */
      spendHistoryFromStore?: boolean
      /**
       * With `spendHistoryFromStore`: the spend anomaly window's spend per minute from the store
       * (`spendAnomalyMinutesRead`), in place of replaying `events` into it.
       */
      spendMinutes?: readonly ScopeMinuteSpend[]
    },
    opts: RunnerOptions = {},
  ): { runner: DetectorRunner; findings: Finding[] } {
    const r = new DetectorRunner(policy, opts)
    const cfg = policy.detectors
    const loop = rebuildLoopState(input.events, cfg.loop, {
      open: input.open,
      now: input.now,
      limits: opts.loop,
    })
    const zombie = rebuildZombieState(input.events, cfg.zombie, {
      open: input.open,
      now: input.now,
      lastSeen: input.lastSeen,
      limits: opts.zombie,
    })
    const anomaly = rebuildSpendAnomalyState(input.events, cfg.spend_anomaly, {
      open: input.open,
      now: input.now,
      limits: opts.anomaly,
      fromStore: input.spendHistoryFromStore,
      minutes: input.spendMinutes,
    })
    r.loop = loop.state
    r.zombie = zombie.state
    r.anomaly = anomaly.state
    const names = new Set(policy.budgets.map((b) => b.name))
    const budgets = retireBudgets(restoreBudgetAlertState(input.open), names, input.now)
    r.budgetState = budgets.state
    for (const e of input.events) r.ledger.add(e)
    r.clock = input.now
    r.nextTick = Math.floor(input.now / cfg.tick) * cfg.tick + cfg.tick
    r.buffer.maxTs = input.now
    return {
      runner: r,
      findings: [...loop.findings, ...zombie.findings, ...anomaly.findings, ...budgets.findings],
    }
  }
}
