import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { insertAlertChanges, listAlerts, listSilences } from '../../adapters/clickhouse/alerts-table.js'
import { budgetSpend } from '../../adapters/clickhouse/budget-spend.js'
import { beatAndElect } from '../../adapters/clickhouse/heartbeats-table.js'
import { readEvents } from '../../adapters/clickhouse/requests-table.js'
import type { Metrics } from '../../adapters/telemetry/metrics.js'
import { alertId, applyFindings, type AlertBook } from '../../core/alerts/alert-book.js'
import type { Alert } from '../../core/alerts/alert.js'
import { silencedBy } from '../../core/alerts/silences.js'
import {
  evaluateBudgetExhaustion,
  initBudgetExhaustionState,
  openExhaustionScopes,
  restoreBudgetExhaustionState,
  type BudgetExhaustionState,
} from '../../core/detectors/budget-exhaustion.js'
import {
  evaluateBurnRate,
  initBurnRateState,
  openBurnScopes,
  restoreBurnRateState,
  type BurnRateState,
} from '../../core/detectors/burn-rate.js'
import type { Finding } from '../../core/detectors/finding.js'
import { loopReplaySince } from '../../core/detectors/loop.js'
import { budgetPeriod } from '../../core/detectors/periods.js'
import { DetectorRunner } from '../../core/detectors/runner.js'
import { burnWindows } from '../../core/detectors/spend-snapshot.js'
import { zombieReplaySince } from '../../core/detectors/zombie.js'
import type { Budget, DetectorsConfig, AlertsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { Silence } from '../../schemas/silence.js'
import type { Dispatcher } from './dispatcher.js'

/** The runner here judges loops and zombies only; budget alerts belong to the budget leader. */
const eventDetectorFindings = (fs: readonly Finding[]): Finding[] =>
  fs.filter((f) => f.type === 'loop' || f.type === 'zombie_agent')

/** Most recent events replayed into loop/zombie state at start. */
const MAX_RESTORE_EVENTS = 500_000

export interface EngineDeps {
  store: StoreClient
  budgets: readonly Budget[]
  detectors: DetectorsConfig
  alerts: AlertsConfig
  dispatcher: Dispatcher
  metrics: Metrics
  log: Logger
  now: () => number
  /** Name of this process in the alerts table. */
  instance?: string
  /**
   * Called with every stored alert change (silenced ones too: a silence mutes notifications, not the
   * guardrail), in order, after the store has them. The enforcer turns them into gateway rules.
   */
  onAlertChanges?: (alerts: readonly Alert[], now: number) => Promise<void>
}

/**
 * Live detection: the four detectors over the stored event stream, alerts stored and dispatched.
 *
 * - Loops and zombie agents step on every stored event (duplicates never reach them) and on ticks, in a
 *   `DetectorRunner` (event time, watermark `allowed_lateness`); their per-key state lives in this process,
 *   like the Kafka partitions that feed it.
 * - Burn rate and budget exhaustion evaluate on each tick from GLOBAL sums in the store (`budgetSpend`), on
 *   ONE instance: the budget leader, elected through heartbeats in the store (`beatAndElect`), so N
 *   instances open and notify each budget alert once; a new leader adopts the open alerts from the store.
 *   Replay feeds the same pure evaluators from a ledger.
 * - After a restart the open alerts come back from the alerts table and loop/zombie state is rebuilt from
 *   the recent events in the store, so an incident is neither lost nor re-fired.
 * - All work runs on one chain: findings are applied in order, and a tick never overlaps an event step.
 */
export class DetectionEngine {
  #runner: DetectorRunner
  #burn: BurnRateState = initBurnRateState()
  #exhaustion: BudgetExhaustionState = initBudgetExhaustionState()
  #book: AlertBook = { open: {} }
  #silences: Silence[] = []
  #chain: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | undefined
  readonly #instance: string
  readonly #latencies: number[] = []
  #leader = false
  /** The runner's clock after restore: no event may be placed before it. */
  #restoredAt = -Infinity

  constructor(private readonly deps: EngineDeps) {
    this.#runner = new DetectorRunner({ budgets: [], detectors: deps.detectors })
    this.#instance = deps.instance ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
  }

  /** Restores open alerts and recent state, resumes the outbox, starts ticking. */
  async start(): Promise<void> {
    const { store, detectors, log } = this.deps
    const now = this.deps.now()
    const open = await listAlerts(store.client, store.database, { state: 'firing', limit: 100_000 })
    this.#book = { open: Object.fromEntries(open.map((a) => [a.dedupe_key, a])) }
    const openKeys = new Set(Object.keys(this.#book.open))
    this.#burn = restoreBurnRateState(openKeys)
    this.#exhaustion = restoreBudgetExhaustionState(openKeys)

    const since = Math.min(
      loopReplaySince(detectors.loop, detectors.allowed_lateness, now),
      zombieReplaySince(detectors.zombie, now),
    )
    const events: RequestEvent[] = []
    for await (const page of readEvents(store.client, store.database, since, now + 1)) {
      events.push(...page)
      if (events.length > MAX_RESTORE_EVENTS) events.splice(0, events.length - MAX_RESTORE_EVENTS)
    }
    const restored = DetectorRunner.restore({ budgets: [], detectors }, { events, open: openKeys, now })
    this.#runner = restored.runner
    this.#restoredAt = now
    this.#silences = await listSilences(store.client, store.database, now)
    await this.#apply(eventDetectorFindings(restored.findings), now)
    log.info({ openAlerts: openKeys.size, replayedEvents: events.length }, 'detection restored')

    await this.deps.dispatcher.start()
    this.deps.metrics.gauge(
      'gatewarden_alerts_firing',
      'Alerts firing now',
      () => Object.keys(this.#book.open).length,
    )
    this.deps.metrics.gauge(
      'gatewarden_alert_outbox_pending',
      'Notifications not yet delivered',
      () => this.deps.dispatcher.pending,
    )
    this.#timer = setInterval(() => void this.tick(), detectors.tick)
    this.#timer.unref()
  }

  /** Events just committed by the writer (duplicates excluded); `submittedAt` = when their batch was submitted. */
  onStored(events: readonly RequestEvent[], submittedAt: number): Promise<void> {
    return this.#enqueue(async () => {
      const findings: Finding[] = []
      // Live, an event arriving behind the watermark (a call that took longer than allowed_lateness, or a
      // slow sender) is judged at the watermark instead of its start: the runner would count it but never
      // let it open an incident, and a loop of slow calls would go unseen. Replay keeps start times.
      const floor = Math.max(this.deps.now() - this.deps.detectors.allowed_lateness, this.#restoredAt) + 1
      for (const e of events) {
        const onTime = e.ts >= floor ? e : { ...e, ts: floor, end_ts: Math.max(e.end_ts, floor) }
        findings.push(...eventDetectorFindings(this.#runner.push(onTime)))
      }
      const now = this.deps.now()
      findings.push(...eventDetectorFindings(this.#runner.advance(now)))
      if (findings.length > 0) {
        await this.#apply(findings, now)
        // detection latency: batch submitted -> alert stored
        if (findings.some((f) => f.state === 'firing')) this.#latencies.push(this.deps.now() - submittedAt)
      }
    })
  }

  /** One evaluation round: time-driven loop/zombie changes, budgets from the store, silences, dispatch. */
  tick(): Promise<void> {
    return this.#enqueue(async () => {
      const now = this.deps.now()
      const findings = eventDetectorFindings(this.#runner.advance(now))
      await this.#elect(now)
      if (this.#leader) findings.push(...(await this.#evaluateBudgets(now)))
      this.#silences = await listSilences(this.deps.store.client, this.deps.store.database, now)
      await this.#apply(findings, now)
      await this.deps.dispatcher.tick(now)
    })
  }

  /** True while this instance judges the budgets. */
  get isBudgetLeader(): boolean {
    return this.#leader
  }

  /** The alerts open in this instance now (the enforcer reconciles its rules with them). */
  openAlerts(): Alert[] {
    return Object.values(this.#book.open)
  }

  /** This instance's id in heartbeats and alert rows. */
  get instance(): string {
    return this.#instance
  }

  async #elect(now: number): Promise<void> {
    const { store, detectors, log } = this.deps
    const leader = await beatAndElect(store.client, store.database, this.#instance, now, 3 * detectors.tick)
    const was = this.#leader
    this.#leader = leader === this.#instance
    if (this.#leader === was) return
    // budget alerts belong to the leader: drop ours, and a new leader takes the open ones from the store
    const isBudget = (a: Alert) => a.type === 'burn_rate' || a.type === 'budget_exhaustion'
    const kept = Object.entries(this.#book.open).filter(([, a]) => !isBudget(a))
    if (this.#leader) {
      const open = await listAlerts(store.client, store.database, { state: 'firing', limit: 100_000 })
      const budgetAlerts = open.filter(isBudget)
      this.#book = {
        open: Object.fromEntries([...kept, ...budgetAlerts.map((a) => [a.dedupe_key, a] as const)]),
      }
      const keys = new Set(budgetAlerts.map((a) => a.dedupe_key))
      this.#burn = restoreBurnRateState(keys)
      this.#exhaustion = restoreBudgetExhaustionState(keys)
      log.info({ instance: this.#instance, adopted: keys.size }, 'budget leader')
    } else {
      this.#book = { open: Object.fromEntries(kept) }
      this.#burn = initBurnRateState()
      this.#exhaustion = initBudgetExhaustionState()
      log.info({ instance: this.#instance, leader }, 'budget leadership moved')
    }
  }

  /** Detection latencies (ms) recorded so far: batch submitted to alert stored. */
  latencies(): readonly number[] {
    return this.#latencies
  }

  /** Stops ticking and waits for the work under way; the dispatcher is stopped by its owner. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#chain
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.#chain
      .then(work)
      .catch((err: unknown) => this.deps.log.error({ err }, 'detection step failed'))
    this.#chain = next
    return next
  }

  async #evaluateBudgets(now: number): Promise<Finding[]> {
    const { budgets, detectors, store } = this.deps
    if (budgets.length === 0 || (!detectors.burn_rate.enabled && !detectors.budget_exhaustion.enabled))
      return []
    const windows = burnWindows(detectors)
    const recentWindowMs = windows.includes(6 * 3_600_000) ? 6 * 3_600_000 : Math.max(...windows)
    const findings: Finding[] = []
    for (const budget of budgets) {
      const period = budgetPeriod(budget, now)
      const rows = await budgetSpend(store.client, store.database, budget.scope, now, period.start, windows)
      // scopes with an open alert but no spend row still need a snapshot, so time can resolve them
      const seen = new Set(rows.map((r) => r.scopeId))
      for (const s of [...openBurnScopes(this.#burn), ...openExhaustionScopes(this.#exhaustion, now)]) {
        if (s.budget === budget.name && !seen.has(s.scopeId)) {
          seen.add(s.scopeId)
          rows.push({
            scopeId: s.scopeId,
            periodSpend: 0,
            windowSpend: Object.fromEntries(windows.map((w) => [w, 0])),
          })
        }
      }
      for (const r of rows) {
        const snap = {
          budget,
          scopeId: r.scopeId,
          at: now,
          period,
          periodSpend: r.periodSpend,
          windowSpend: r.windowSpend,
        }
        if (detectors.burn_rate.enabled) {
          const s = evaluateBurnRate(this.#burn, snap, detectors.burn_rate, now)
          this.#burn = s.state
          findings.push(...s.findings)
        }
        if (detectors.budget_exhaustion.enabled) {
          const s = evaluateBudgetExhaustion(this.#exhaustion, snap, detectors.budget_exhaustion, now, {
            recentWindowMs,
          })
          this.#exhaustion = s.state
          findings.push(...s.findings)
        }
      }
    }
    return findings
  }

  async #apply(findings: readonly Finding[], now: number): Promise<void> {
    if (findings.length === 0) return
    const { alerts, store } = this.deps
    const r = applyFindings(this.#book, findings, (f) => ({
      ...(alerts.public_url
        ? { page: `${alerts.public_url.replace(/\/$/, '')}/alerts#${alertId(f.dedupe_key, f.at)}` }
        : {}),
      ...(alerts.grafana_url ? { grafana: alerts.grafana_url } : {}),
    }))
    this.#book = r.book
    if (r.changes.length === 0) return
    const changes = r.changes.map((alert) => ({
      alert,
      silenced: silencedBy(this.#silences, alert, now) !== undefined,
      instance: this.#instance,
    }))
    await insertAlertChanges(store.client, store.database, changes, randomUUID())
    for (const c of changes) {
      this.deps.log.info(
        {
          alert: c.alert.id,
          type: c.alert.type,
          state: c.alert.state,
          severity: c.alert.severity,
          scope: c.alert.scope,
          silenced: c.silenced,
        },
        c.alert.state === 'firing' ? 'alert firing' : 'alert resolved',
      )
    }
    if (this.deps.onAlertChanges) await this.deps.onAlertChanges(r.changes, now)
    const notify: Alert[] = changes.filter((c) => !c.silenced).map((c) => c.alert)
    if (notify.length > 0) await this.deps.dispatcher.plan(notify, now)
  }
}
