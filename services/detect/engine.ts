import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import type { Alert } from '../../core/alerts/alert.js'
import { resolveAfterOf } from '../../core/alerts/resolve-after.js'
import type { Finding } from '../../core/detectors/finding.js'
import type { Lifecycle } from '../../core/lifecycle.js'
import type { AlertStore } from '../../core/ports/alert-store.js'
import type { EventReader } from '../../core/ports/event-reader.js'
import type { HourlySpendReader } from '../../core/ports/hourly-spend-reader.js'
import type { MinuteSpendReader } from '../../core/ports/minute-spend-reader.js'
import type { LeaderElection } from '../../core/ports/leader-election.js'
import type { SpendReader } from '../../core/ports/spend-reader.js'
import type { Budget, DetectorsConfig, AlertsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { within } from '../lifecycle.js'
import { AlertRecorder, type AlertHandOff } from './alert-recorder.js'
import { BudgetLeadership } from './budget-leadership.js'
import { BudgetTick } from './budget-tick.js'
import type { BudgetReading } from '../../core/budgets/budget-readings.js'
import { DetectionQueue } from './detection-queue.js'
import { EventDetectors } from './event-detectors.js'

/** The store as detection sees it: ports only. */
export interface DetectionPorts {
  events: EventReader
  alerts: AlertStore
  spend: SpendReader
  election: LeaderElection
  /** Hourly rollup, for the spend anomaly baselines at start (without it they start from recent events). */
  hourly?: HourlySpendReader
  /** Minute rollup: with `hourly`, the spend anomaly window at start (without it, from recent events). */
  minutes?: MinuteSpendReader
}

export interface EngineDeps {
  ports: DetectionPorts
  budgets: readonly Budget[]
  /**
   * Budgets made at runtime, read by the leader at each tick (they take effect within one tick) and
   * judged beside `budgets`; a name of `budgets` wins.
   */
  runtimeBudgets?: () => Promise<readonly Budget[]>
  detectors: DetectorsConfig
  alerts: AlertsConfig
  /** Where unsilenced stored changes go (the dispatcher), and its tick. */
  dispatcher: AlertHandOff & { tick(now: number): Promise<void> }
  /** Where the engine's gauges are registered (the service's metrics). */
  metrics: { gauge(name: string, description: string, read: () => number): void }
  log: Logger
  now: () => number
  /** Name of this process in the alerts table. */
  instance?: string
  /**
   * Called with every stored alert change (silenced ones too: a silence mutes notifications, not the
   * guardrail), in order, after the store has them. The enforcer turns them into gateway rules.
   */
  onAlertChanges?: (alerts: readonly Alert[], now: number) => Promise<void>
  /** Stored events waiting for detection beyond which the oldest are dropped (default 200 000). */
  maxWaitingEvents?: number
}

/** The shortest budget-leader lease, whatever the tick. */
export const MIN_LEADER_LEASE_MS = 10_000

/**
 * How long a leader's last heartbeat keeps it leader: 3 ticks, and never under MIN_LEADER_LEASE_MS. A
 * lease as short as a few small ticks lets one slow store round (a busy embedded engine, a GC pause)
 * make a live leader look gone, and two leaders each open the same budget alert; a longer lease only
 * delays the takeover after a crash (a leader that stops cleanly is replaced once its lease runs out).
 */
export function leaderLease(tickMs: number): number {
  return Math.max(3 * tickMs, MIN_LEADER_LEASE_MS)
}

/**
 * Live detection: the four detectors over the stored event stream, alerts stored and dispatched. The
 * jobs, one file each:
 * - `EventDetectors`: loops, zombie agents and spend anomalies on every stored event (duplicates never reach them) and on
 *   ticks, in event time; state rebuilt from the store's recent events at start;
 * - `BudgetLeadership` + `BudgetTick`: burn rate and budget exhaustion on each tick from GLOBAL sums in
 *   the store, on ONE instance (the budget leader, heartbeats), through the same core evaluation as
 *   replay (`evaluateBudgetRound`); a new leader adopts the open alerts from the store;
 * - `AlertRecorder`: the alert book (with each detector's `resolve_after` hysteresis), the store, then
 *   the enforcer hook and the dispatcher, in order;
 * - `DetectionQueue`: one step at a time, bounded (coalesced events, one tick at most).
 * After a restart the open alerts come back from the store, so an incident is neither lost nor re-fired.
 */
export class DetectionEngine implements Lifecycle {
  readonly #queue: DetectionQueue
  readonly #detectors: EventDetectors
  readonly #leadership: BudgetLeadership
  readonly #budgets: BudgetTick
  readonly #recorder: AlertRecorder
  readonly #latencies: number[] = []
  readonly #latenciesByType = new Map<Finding['type'], number[]>()
  #timer: NodeJS.Timeout | undefined
  #stopping: Promise<void> | undefined

  constructor(private readonly deps: EngineDeps) {
    const instance = deps.instance ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
    this.#detectors = new EventDetectors(
      deps.ports.events,
      deps.detectors,
      deps.ports.hourly,
      deps.ports.minutes,
    )
    this.#leadership = new BudgetLeadership(deps.ports.election, instance, leaderLease(deps.detectors.tick))
    this.#budgets = new BudgetTick(deps.ports.spend, { budgets: deps.budgets, detectors: deps.detectors })
    this.#recorder = new AlertRecorder({
      store: deps.ports.alerts,
      alerts: deps.alerts,
      resolveAfter: resolveAfterOf(deps.detectors),
      handOff: deps.dispatcher,
      log: deps.log,
      instance,
      onAlertChanges: deps.onAlertChanges,
    })
    this.#queue = new DetectionQueue(
      {
        events: (events, submittedAt) => this.#onEvents(events, submittedAt),
        tick: () => this.#tick(),
        failed: (err, step) => deps.log.error({ err, step }, 'detection step failed'),
        saturated: (dropped, waiting) =>
          deps.log.warn(
            { dropped, waiting, droppedTotal: this.#queue.dropped },
            'detection behind the store: oldest waiting events not judged live',
          ),
      },
      deps.maxWaitingEvents,
    )
  }

  /** Restores open alerts and recent loop/zombie state, starts ticking. The dispatcher starts before. */
  async start(): Promise<void> {
    const { log, metrics } = this.deps
    const now = this.deps.now()
    const open = await this.#recorder.restore(now)
    const restored = await this.#detectors.restore(open, now)
    if (restored.spendMinutesError !== undefined)
      log.warn(
        { err: restored.spendMinutesError },
        'spend anomaly window: the minute rollup read failed, replayed from stored events instead',
      )
    await this.#recorder.record(restored.findings, now)
    log.info(
      {
        openAlerts: open.size,
        replayedEvents: restored.replayed,
        spendSeries: restored.spendSeries,
        ms: restored.ms,
      },
      'detection restored',
    )
    this.#refreshSpendHistory(now)
    metrics.gauge('gatewarden_alerts_firing', 'Alerts firing now', () => this.#recorder.openAlerts().length)
    metrics.gauge(
      'gatewarden_alerts_clearing',
      'Firing alerts whose condition has cleared, resolved once clear for their resolve_after',
      () => this.#recorder.clearing,
    )
    metrics.gauge(
      'gatewarden_alert_changes_unsaved',
      'Alert changes waiting for the store',
      () => this.#recorder.unsaved,
    )
    metrics.gauge(
      'gatewarden_alert_changes_coalesced',
      'Alert changes waiting for the store folded into a later state of their alert since start (alerts.max_unsaved_changes)',
      () => this.#recorder.coalesced,
    )
    metrics.gauge(
      'gatewarden_spend_anomaly_waiting_history',
      "Whether spend anomalies are not judged for want of the hour's history from the hourly rollup (1: waiting)",
      () => (this.#detectors.spendHistoryWaiting(this.deps.now()) ? 1 : 0),
    )
    metrics.gauge(
      'gatewarden_detection_events_waiting',
      'Stored events waiting for detection',
      () => this.#queue.waiting,
    )
    metrics.gauge(
      'gatewarden_detection_events_dropped',
      'Stored events dropped by the full detection queue since start (not judged live)',
      () => this.#queue.dropped,
    )
    this.#timer = setInterval(() => void this.tick(), this.deps.detectors.tick)
    this.#timer.unref()
  }

  /** Events just committed by the writer (duplicates excluded); `submittedAt` = when their batch was submitted. */
  onStored(events: readonly RequestEvent[], submittedAt: number): Promise<void> {
    return this.#queue.events(events, submittedAt)
  }

  /** The spend anomaly baselines' hourly read, in the background (anomalies are judged once it is in). */
  #refreshSpendHistory(now: number): void {
    const { log } = this.deps
    this.#detectors.startSpendHistoryRefresh(
      now,
      (r) =>
        log.info(
          { hour: new Date(r.hour * 3_600_000).toISOString(), series: r.series, ms: r.ms },
          'spend history read',
        ),
      (err) =>
        log.warn(
          { err },
          'spend history not read, spend anomalies judged once it is (tried again, 10 s to 5 min later)',
        ),
    )
  }

  /** Settles once the spend anomaly history read under way, if any, is done (tests, benchmarks). */
  spendHistorySettled(): Promise<void> {
    return this.#detectors.spendHistorySettled()
  }

  /** One evaluation round (coalesced: while one is pending or running, that one). */
  tick(): Promise<void> {
    return this.#queue.tick()
  }

  /** True while this instance judges the budgets. */
  get isBudgetLeader(): boolean {
    return this.#leadership.isLeader
  }

  /** This instance's id in heartbeats and alert rows. */
  get instance(): string {
    return this.#leadership.instance
  }

  /** The budgets as the leader's last round saw them (empty on other instances): per-budget gauges. */
  budgetReadings(): readonly BudgetReading[] {
    return this.isBudgetLeader ? this.#budgets.readings() : []
  }

  /** The alerts open now (budget ones only on the leader): for the enforcer's reconciliation. */
  openAlerts(): Alert[] {
    return this.#recorder.openAlerts()
  }

  /** Detection latencies (ms) recorded so far: batch submitted to alert stored. */
  latencies(): readonly number[] {
    return this.#latencies
  }

  /** The same latencies per detector type that fired in the step (a step firing two types counts for both). */
  latenciesByType(): ReadonlyMap<Finding['type'], readonly number[]> {
    return this.#latenciesByType
  }

  /** Waits until the queued steps have run. */
  flush(): Promise<void> {
    return this.#queue.idle()
  }

  /** Stops ticking, refuses new steps, waits (at most `timeoutMs`) for those queued. */
  shutdown(timeoutMs: number): Promise<void> {
    return (this.#stopping ??= (async () => {
      clearInterval(this.#timer)
      this.#queue.close()
      await within(this.#queue.idle(), timeoutMs)
    })())
  }

  async #onEvents(events: readonly RequestEvent[], submittedAt: number): Promise<void> {
    const findings = this.#detectors.push(events, this.deps.now())
    const now = this.deps.now()
    findings.push(...this.#detectors.advance(now))
    if (findings.length === 0) return
    await this.#recorder.record(findings, now)
    // detection latency: batch submitted -> alert stored (or waiting for the store)
    const fired = new Set(findings.filter((f) => f.state === 'firing').map((f) => f.type))
    if (fired.size === 0) return
    const latency = this.deps.now() - submittedAt
    this.#latencies.push(latency)
    for (const type of fired) {
      const list = this.#latenciesByType.get(type)
      if (list) list.push(latency)
      else this.#latenciesByType.set(type, [latency])
    }
  }

  /** Time-driven loop/zombie changes, election, budgets from the store, silences, store, dispatch. */
  async #tick(): Promise<void> {
    const { log } = this.deps
    const now = this.deps.now()
    this.#refreshSpendHistory(now)
    const findings: Finding[] = this.#detectors.advance(now)
    await this.#elect(now)
    if (this.#leadership.isLeader) {
      try {
        if (this.deps.runtimeBudgets) findings.push(...(await this.#refreshBudgets(now)))
        findings.push(...(await this.#budgets.evaluate(now)))
      } catch (err) {
        log.warn({ err }, 'budget spend not read, budgets judged on the next tick')
      }
    }
    await this.#recorder.refreshSilences(now)
    await this.#recorder.record(findings, now)
    await this.deps.dispatcher.tick(now)
  }

  #budgetsKey = ''

  /** Configured plus runtime budgets; hands them to the budget round when they changed. */
  async #refreshBudgets(now: number): Promise<Finding[]> {
    const configured = new Set(this.deps.budgets.map((b) => b.name))
    const runtime = (await this.deps.runtimeBudgets!()).filter((b) => !configured.has(b.name))
    const all = [...this.deps.budgets, ...runtime]
    const key = JSON.stringify(all)
    if (key === this.#budgetsKey) return []
    this.#budgetsKey = key
    return this.#budgets.setBudgets(all, now)
  }

  async #elect(now: number): Promise<void> {
    const { log } = this.deps
    let change
    try {
      change = await this.#leadership.elect(now)
    } catch (err) {
      log.warn({ err, leader: this.#leadership.isLeader }, 'budget leader election failed, role unchanged')
      return
    }
    if (change === 'gained') {
      // budget alerts belong to the leader: a new one takes the open ones from the store
      try {
        const keys = await this.#recorder.adoptBudgetAlerts()
        this.#budgets.adopt(keys)
        log.info({ instance: this.instance, adopted: keys.size }, 'budget leader')
      } catch (err) {
        // not adopted: judging budgets now could re-fire open alerts; try again on the next tick
        this.#leadership.resign()
        log.warn({ err }, 'open budget alerts not read, leadership taken on the next tick')
      }
    } else if (change === 'lost') {
      this.#recorder.dropBudgetAlerts()
      this.#budgets.drop()
      log.info({ instance: this.instance, leader: this.#leadership.leaderId }, 'budget leadership moved')
    }
  }
}
