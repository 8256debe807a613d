import type { Alert } from '../../core/alerts/alert.js'
import { AlertTimeline } from '../../core/alerts/alert-timeline.js'
import { resolveAfterOf } from '../../core/alerts/resolve-after.js'
import type { Finding } from '../../core/detectors/finding.js'
import { loopReplaySince } from '../../core/detectors/loop.js'
import { budgetPeriod } from '../../core/detectors/periods.js'
import { DetectorRunner, type DetectorPolicy, type RunnerStats } from '../../core/detectors/runner.js'
import { burnWindows } from '../../core/detectors/spend-snapshot.js'
import { zombieReplaySince } from '../../core/detectors/zombie.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { EnforcementSimulator } from '../../core/rules/simulate.js'

/** Counters of one replay, for the summary and the progress bar. */
export interface ReplayCounters {
  /** Events read from the source (warm-up included). */
  read: number
  /** Of those, events before `reportFrom` (state only, their findings not reported). */
  warmup: number
  firstTs: number | null
  lastTs: number | null
  /** Findings reported so far. */
  findings: number
}

export interface ReplayRun {
  findings: Finding[]
  /**
   * The alert changes live would have made of the findings (openings and resolutions, in order): the
   * same alert book and each detector's `resolve_after` hold, in event time.
   */
  alerts: Alert[]
  counters: ReplayCounters
  runner: RunnerStats
}

/**
 * Where a store replay of [from, ...) must start reading so the detectors hold at `from` the state live
 * detection had: the current budget periods and the longest burn-rate window (budgets), one loop window
 * plus lateness, and the zombie look-back (the current off-hours stretch, two max sessions). Dormancy
 * needs each agent's last sighting, which can be any time back: not warmed up.
 */
export function warmupStart(policy: DetectorPolicy, from: number): number {
  const cfg = policy.detectors
  let start = Math.min(
    loopReplaySince(cfg.loop, cfg.allowed_lateness, from),
    zombieReplaySince(cfg.zombie, from),
  )
  if (policy.budgets.length > 0 && (cfg.burn_rate.enabled || cfg.budget_exhaustion.enabled)) {
    start = Math.min(start, from - Math.max(...burnWindows(cfg)))
    for (const b of policy.budgets) start = Math.min(start, budgetPeriod(b, from).start)
  }
  return start
}

/**
 * Runs the detectors over `events` (event time, as live: watermark, ticks) and collects what they
 * would have fired, and the alerts live would have opened of it (after the `resolve_after` hold). Findings before `reportFrom` (warm-up) change state but are not reported; `until`
 * ticks on past the last event (a store range's end) so time resolves what it would have resolved.
 * `onEvent` is called after each event (progress).
 */
export async function replayEvents(
  events: AsyncIterable<RequestEvent>,
  policy: DetectorPolicy,
  opts: {
    reportFrom?: number
    until?: number
    onEvent?: (c: ReplayCounters) => void
    /** `replay --enforce`: the rules the findings would have made, and what they would have saved. */
    enforce?: EnforcementSimulator
  } = {},
): Promise<ReplayRun> {
  const runner = new DetectorRunner(policy)
  const from = opts.reportFrom ?? -Infinity
  const findings: Finding[] = []
  const alerts: Alert[] = []
  const timeline = new AlertTimeline(resolveAfterOf(policy.detectors))
  const step = (changes: readonly Alert[]) => void alerts.push(...changes)
  const counters: ReplayCounters = { read: 0, warmup: 0, firstTs: null, lastTs: null, findings: 0 }
  const keep = (fs: Finding[]) => {
    const reported = fs.filter((f) => f.at >= from)
    for (const f of reported) findings.push(f)
    counters.findings += reported.length
    timeline.onFindings(reported, step)
    opts.enforce?.onFindings(reported)
  }
  for await (const e of events) {
    counters.read++
    if (e.ts < from) counters.warmup++
    else {
      counters.firstTs = counters.firstTs === null ? e.ts : Math.min(counters.firstTs, e.ts)
      counters.lastTs = counters.lastTs === null ? e.ts : Math.max(counters.lastTs, e.ts)
    }
    keep(runner.push(e))
    if (e.ts >= from) opts.enforce?.onEvent(e)
    opts.onEvent?.(counters)
  }
  keep(runner.flush())
  if (opts.until !== undefined) keep(runner.tickUntil(opts.until))
  // the holds that ended by the end of the replay (the last event, or the range's end)
  const end = opts.until ?? counters.lastTs
  if (end !== null) timeline.settle(end, step)
  return { findings, alerts, counters, runner: { ...runner.stats } }
}
