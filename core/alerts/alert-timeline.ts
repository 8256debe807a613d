import type { DetectorType, Finding } from '../detectors/finding.js'
import type { Alert } from './alert.js'
import { applyFindings, type AlertBook, type AlertLinks } from './alert-book.js'

/** Told of every step of the timeline: the alert changes it made (maybe none) at instant `at`. */
export type TimelineStep = (changes: readonly Alert[], at: number) => void

/**
 * The alert book driven by event time, as the live recorder drives it by its clock: each finding is
 * applied at its own instant, after the held resolutions that fell due before it, each at its own
 * instant (as live ticks would release them), so a re-fire within `resolve_after` reopens the same alert
 * and one that comes later opens a new one. Used by replay (the alerts it reports) and the rule
 * simulator (the rules those alerts make). `resolveAfter` undefined = resolutions at once.
 */
export class AlertTimeline {
  #book: AlertBook = { open: {} }

  constructor(
    private readonly resolveAfter?: (type: DetectorType) => number,
    private readonly links: (f: Finding) => AlertLinks = () => ({}),
  ) {}

  /** The open alerts by dedupe key (clearing ones included: they are firing until their hold ends). */
  get book(): AlertBook {
    return this.#book
  }

  /** Findings of the detectors, in order. */
  onFindings(findings: readonly Finding[], step?: TimelineStep): void {
    for (const f of findings) {
      this.settle(f.at, step)
      this.#apply([f], f.at, step)
    }
  }

  /** Held resolutions due by `now`, each at its own instant. */
  settle(now: number, step?: TimelineStep): void {
    const clearing = this.#book.clearing
    if (!clearing || !this.resolveAfter) return
    const due = Object.entries(clearing)
      .map(([key, c]) => c.since + this.resolveAfter!(this.#book.open[key]?.type ?? c.finding.type))
      .filter((at) => at <= now)
      .sort((a, b) => a - b)
    for (const at of new Set(due)) this.#apply([], at, step)
  }

  #apply(findings: readonly Finding[], at: number, step?: TimelineStep): void {
    const hold = this.resolveAfter ? { now: at, resolveAfter: this.resolveAfter } : undefined
    const r = applyFindings(this.#book, findings, this.links, hold)
    this.#book = r.book
    step?.(r.changes, at)
  }
}
