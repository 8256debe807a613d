import type { Finding } from '../../core/detectors/finding.js'
import { loopReplaySince } from '../../core/detectors/loop.js'
import { DetectorRunner, type RunnerOptions } from '../../core/detectors/runner.js'
import {
  spendAnomalyMinutesRead,
  spendAnomalyReplaySince,
  storedSpendHistoryFrom,
  storedSpendRead,
  type SpendAnomalyConfig,
  type StoredSpendHistory,
} from '../../core/detectors/spend-anomaly.js'
import { zombieReplaySince } from '../../core/detectors/zombie.js'
import type { EventReader, ReadEventsOptions } from '../../core/ports/event-reader.js'
import type { HourlySpendReader, ScopeSpendHistory } from '../../core/ports/hourly-spend-reader.js'
import type { MinuteSpendReader, ScopeMinuteSpend } from '../../core/ports/minute-spend-reader.js'
import type { DetectorsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'

/** The runner here judges loops, zombies and spend anomalies; budget alerts belong to the budget leader. */
const eventFindings = (fs: readonly Finding[]): Finding[] =>
  fs.filter((f) => f.type === 'loop' || f.type === 'zombie_agent' || f.type === 'spend_anomaly')

/** Live, loops and zombies fire when the event that completes them arrives (not `allowed_lateness` later). */
const LIVE: RunnerOptions = { fireOnArrival: true }

/** The stored history of epoch hour `hour`: what `reader` answers for every configured scope. */
export async function readStoredSpendHistory(
  reader: HourlySpendReader,
  cfg: SpendAnomalyConfig,
  hour: number,
): Promise<StoredSpendHistory> {
  const { fromHour, toHour, hours } = storedSpendRead(cfg, hour)
  const answers: ScopeSpendHistory[] = []
  for (const scope of cfg.scopes)
    for (const a of await reader.spendHistory(scope, fromHour, toHour, hours)) answers.push(a)
  return storedSpendHistoryFrom(hour, answers)
}

/**
 * The spend per minute of the spend anomaly window before `now`, for every configured scope
 * (`spendAnomalyMinutesRead`): what a restart starts the window from.
 */
export async function readRecentSpend(
  reader: MinuteSpendReader,
  cfg: SpendAnomalyConfig,
  now: number,
): Promise<ScopeMinuteSpend[]> {
  const { fromMinute, toMinute } = spendAnomalyMinutesRead(cfg, now)
  const out: ScopeMinuteSpend[] = []
  for (const scope of cfg.scopes) out.push(...(await reader.minuteSpend(scope, fromMinute, toMinute)))
  return out
}

/** Most recent events replayed into loop/zombie state at start. */
const MAX_RESTORE_EVENTS = 500_000

/**
 * Loops, zombie agents and spend anomalies on every stored event, in a `DetectorRunner` (event time, watermark
 * `allowed_lateness`). Their per-key state lives in this process, like the Kafka partitions that feed it;
 * after a restart it is rebuilt from the recent events in the store (`EventReader` port). The spend
 * anomaly baselines come from the hourly rollup (`HourlySpendReader` port, when given), read once an
 * hour for the hours they need (`startSpendHistoryRefresh`) instead of held in memory; with it and the
 * minute rollup (`MinuteSpendReader`), a restart starts the spend anomaly window from the minute sums
 * instead of replaying the events of the last two hours.
 */
export class EventDetectors {
  #runner: DetectorRunner
  /** The runner's clock after restore: no event may be placed before it. */
  #restoredAt = -Infinity

  constructor(
    private readonly events: EventReader,
    private readonly detectors: DetectorsConfig,
    private readonly hourly?: HourlySpendReader,
    private readonly minutes?: MinuteSpendReader,
  ) {
    this.#runner = new DetectorRunner({ budgets: [], detectors }, LIVE)
  }

  /** Rebuilds state from the store's recent events, reconciled with the open alert keys. */
  async restore(
    open: ReadonlySet<string>,
    now: number,
  ): Promise<{
    findings: Finding[]
    replayed: number
    spendSeries: number
    spendMinutesError?: unknown
    /** Wall time of each phase (the 'detection restored' log line): the minute sums, the reads, the replay. */
    ms: { spendMinutes: number; read: number; replay: number }
  }> {
    const { detectors } = this
    const t0 = performance.now()
    const anomaly = detectors.spend_anomaly
    // the spend anomaly's window from the minute rollup: a sum per value and minute, however busy; if
    // that read fails, from the events as without it
    let spendMinutes: ScopeMinuteSpend[] | undefined
    let spendMinutesError: unknown
    if (anomaly.enabled && this.hourly && this.minutes)
      try {
        spendMinutes = await readRecentSpend(this.minutes, anomaly, now)
      } catch (err) {
        spendMinutesError = err
      }
    // every event of the loop window (and without the minute sums, the spend anomaly's two hours); before
    // it, back to the zombie detector's start, only agents' events: the only ones stepZombie counts, and
    // the loop and spend anomaly rebuilds look at nothing that old (a busy gateway's hours of other
    // traffic are not read)
    const allSince = Math.min(
      loopReplaySince(detectors.loop, detectors.allowed_lateness, now),
      anomaly.enabled && !spendMinutes ? spendAnomalyReplaySince(now) : now,
    )
    const agentsSince = detectors.zombie.enabled ? zombieReplaySince(detectors.zombie, now) : now
    // the newest only, without the texts no detector reads
    const read = async (from: number, to: number, newest: number, opts: ReadEventsOptions = {}) => {
      const out: RequestEvent[] = []
      if (from >= to || newest <= 0) return out
      const pages = this.events.readEvents(from, to, 50_000, { columns: 'detection', newest, ...opts })
      for await (const page of pages) for (const e of page) out.push(e)
      return out
    }
    const t1 = performance.now()
    const recent = await read(allSince, now + 1, MAX_RESTORE_EVENTS)
    const older = await read(agentsSince, allSince, MAX_RESTORE_EVENTS - recent.length, {
      onlyAgents: { agentKeys: detectors.zombie.agent_keys },
    })
    const events = older.length === 0 ? recent : [...older, ...recent]
    const t2 = performance.now()
    const restored = DetectorRunner.restore(
      { budgets: [], detectors },
      { events, open, now, spendHistoryFromStore: this.hourly !== undefined, spendMinutes },
      LIVE,
    )
    this.#runner = restored.runner
    this.#restoredAt = now
    return {
      findings: eventFindings(restored.findings),
      replayed: events.length,
      spendSeries: spendMinutes?.length ?? 0,
      spendMinutesError,
      ms: {
        spendMinutes: Math.round(t1 - t0),
        read: Math.round(t2 - t1),
        replay: Math.round(performance.now() - t2),
      },
    }
  }

  #reading = false
  #loading: Promise<unknown> = Promise.resolve()
  #retryAt = -Infinity
  #failures = 0

  /** True while spend anomalies wait for the hour's stored history (a metric: nothing judged meanwhile). */
  spendHistoryWaiting(now: number): boolean {
    return this.hourly !== undefined && this.#runner.spendHistoryWanted(now) !== null
  }

  /** Settles when the stored spend history read under way (if any) is done. */
  spendHistorySettled(): Promise<void> {
    return this.#loading.then(
      () => undefined,
      () => undefined,
    )
  }

  /**
   * Reads, in the background, the stored spend history the spend anomaly detector waits for at `now`
   * (`readStoredSpendHistory`) and hands it over; until then anomalies are not judged. At most one read at
   * a time; the next try 10 s after a failure, doubling up to 5 min (logged by `onError`). The engine
   * calls it at start and on every tick.
   */
  startSpendHistoryRefresh(
    now: number,
    onRead: (r: { hour: number; series: number; ms: number }) => void,
    onError: (err: unknown) => void,
  ): void {
    const runner = this.#runner
    const hour = runner.spendHistoryWanted(now)
    if (hour === null || !this.hourly || this.#reading || now < this.#retryAt) return
    this.#reading = true
    const t0 = performance.now()
    this.#loading = readStoredSpendHistory(this.hourly, this.detectors.spend_anomaly, hour)
      .then(
        (history) => {
          this.#failures = 0
          // a runner restored meanwhile asks again
          if (runner === this.#runner) runner.setSpendHistory(history)
          onRead({ hour, series: history.series.size, ms: Math.round(performance.now() - t0) })
        },
        (err: unknown) => {
          // from when the read ended (a slow one is not retried at once), 10 s doubling to 5 min
          const backoff = Math.min(10_000 * 2 ** this.#failures++, 300_000)
          this.#retryAt = now + (performance.now() - t0) + backoff
          onError(err)
        },
      )
      .finally(() => {
        this.#reading = false
      })
  }

  /**
   * Stored events at `now`. Live, an event arriving behind the watermark (a call that took longer than
   * allowed_lateness, or a slow sender) is judged at the watermark instead of its start: the runner would
   * count it but never let it open an incident, and a loop of slow calls would go unseen. Replay keeps
   * start times.
   */
  push(events: readonly RequestEvent[], now: number): Finding[] {
    const findings: Finding[] = []
    const floor = Math.max(now - this.detectors.allowed_lateness, this.#restoredAt) + 1
    for (const e of events) {
      const onTime = e.ts >= floor ? e : { ...e, ts: floor, end_ts: Math.max(e.end_ts, floor) }
      findings.push(...eventFindings(this.#runner.push(onTime)))
    }
    return findings
  }

  /** Lets the injected clock move the watermark on (quiet traffic still resolves and times out). */
  advance(now: number): Finding[] {
    return eventFindings(this.#runner.advance(now))
  }
}
