import { alertId } from '../alerts/alert-book.js'
import { AlertTimeline } from '../alerts/alert-timeline.js'
import type { Alert } from '../alerts/alert.js'
import type { DetectorType, Finding } from '../detectors/finding.js'
import { findPrice, tokenCost, type PriceTable } from '../pricing.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { Rule } from '../../schemas/rule.js'
import { downgradeTarget, eventInScope } from './match.js'
import { dueToExpire, planFromAlerts } from './plan-rules.js'
import type { RulePolicy } from './rule-from-alert.js'
import { expired, inForce } from './rule-transitions.js'

/** One rule the guardrail would have made over the history, and what it would have done. */
export interface SimulatedRule {
  rule: Rule
  /** When it would have ended (lifted or expired), or null when still in force at the end. */
  ended_at: number | null
  held_ms: number
  calls: number
  /** Of those, calls a downgrade would have re-routed (its map covers their model). */
  downgraded: number
  blocked: number
  spend_usd: number
  saved_usd: number
  /** Downgraded calls whose target model has no price: counted, not re-priced (saving 0). */
  unpriced: number
}

/** The whole simulation: rules and the spend they would have saved. */
export interface EnforcementReport {
  rules: SimulatedRule[]
  totals: { rules: number; calls: number; spend_usd: number; saved_usd: number; skipped: number }
}

/**
 * "What would the guardrail have saved": replays the rules the enforcer would have made from the
 * findings of a replay, in event time. Each event is judged against the rules in force at its start
 * that were made before it (live, a rule follows the detection of the events that caused it).
 * A blocked call counts as avoided spend; a downgraded call is re-priced at the target model's price with
 * the same tokens. History is not rewritten: a blocked loop goes on in the data, so lift-on-resolve
 * comes later than it would live, and the savings are an upper bound for blocks.
 */
type Counters = Pick<
  SimulatedRule,
  'calls' | 'downgraded' | 'blocked' | 'spend_usd' | 'saved_usd' | 'unpriced'
>

/** When a rule stops applying: its end (lifted or expired rules carry it as `updated_at`), else its expiry. */
const endOf = (r: Rule): number => (inForce(r) ? r.expires_at : r.updated_at)

export class EnforcementSimulator {
  readonly #timeline: AlertTimeline
  #rules = new Map<string, Rule>()
  #counters = new Map<string, Counters>()
  #skipped = 0
  #pending: RequestEvent[] = []
  #maxTs = -Infinity

  /**
   * `lateness`: the detectors' `allowed_lateness` (events are judged behind the same watermark);
   * `resolveAfter`: the detectors' hysteresis as live applies it (`resolveAfterOf(detectors)`): a rule is
   * lifted when its alert resolves, once clear for that long. None = resolutions at once.
   */
  constructor(
    private readonly policy: RulePolicy,
    private readonly prices: PriceTable,
    private readonly lateness = 0,
    resolveAfter?: (type: DetectorType) => number,
  ) {
    this.#timeline = new AlertTimeline(resolveAfter, links)
    if (policy.enforcement.mode === 'off')
      this.policy = { ...policy, enforcement: { ...policy.enforcement, mode: 'dry_run' } }
  }

  /**
   * Takes one event (in the order the detectors get it; give their findings to `onFindings` first). It is
   * judged once the watermark (latest start - `allowed_lateness`) passes it, so every finding that came
   * before it in event time is known: against the rules made strictly before its start and not yet ended
   * (the call that completes a loop is not itself caught).
   */
  onEvent(e: RequestEvent): void {
    this.#settle(e.ts - this.lateness)
    this.#pending.push(e)
    this.#maxTs = Math.max(this.#maxTs, e.ts)
    if (this.#pending.length >= 1024 || this.#pending[0]!.ts <= this.#maxTs - this.lateness)
      this.#judgeUntil(this.#maxTs - this.lateness)
  }

  #judgeUntil(watermark: number): void {
    this.#pending.sort((a, b) => a.ts - b.ts)
    let i = 0
    for (; i < this.#pending.length && this.#pending[i]!.ts <= watermark; i++) this.#judge(this.#pending[i]!)
    this.#pending.splice(0, i)
  }

  #judge(e: RequestEvent): void {
    for (const r of this.#rules.values()) {
      if (r.created_at >= e.ts || e.ts >= endOf(r) || !eventInScope(e, r.scope)) continue
      const c = this.#counters.get(r.id)!
      c.calls++
      c.spend_usd += e.cost_usd
      if (r.action.action === 'block') {
        c.blocked++
        c.saved_usd += e.cost_usd
        break // a blocked call is not downgraded too
      }
      const to = downgradeTarget(r.action, e.model_requested || e.model)
      if (to === undefined) continue
      c.downgraded++
      const hit = findPrice(this.prices, [to])
      if (!hit) c.unpriced++
      else
        c.saved_usd += Math.max(
          0,
          e.cost_usd -
            tokenCost(hit.price, { input: e.input_tokens, output: e.output_tokens, cached: e.cached_tokens }),
        )
      break
    }
  }

  /** Findings of the detectors, in order. */
  onFindings(findings: readonly Finding[]): void {
    this.#timeline.onFindings(findings, this.#step)
  }

  /** Held resolutions due by `now`, each at its own instant (as live ticks would release them). */
  #settle(now: number): void {
    this.#timeline.settle(now, this.#step)
  }

  /** One step of the alert timeline at `at`: expiries, then the rules its alert changes make or lift. */
  readonly #step = (changes: readonly Alert[], at: number): void => {
    this.#expire(at)
    const plan = planFromAlerts(this.#rules, changes, this.policy, [], at)
    this.#skipped += plan.skipped.length
    for (const c of plan.changes) {
      this.#rules.set(c.rule.id, c.rule)
      if (!this.#counters.has(c.rule.id))
        this.#counters.set(c.rule.id, {
          calls: 0,
          downgraded: 0,
          blocked: 0,
          spend_usd: 0,
          saved_usd: 0,
          unpriced: 0,
        })
    }
  }

  /** The report at `end` (the last instant replayed). */
  report(end: number): EnforcementReport {
    this.#settle(end)
    this.#judgeUntil(Infinity)
    this.#expire(end)
    const rules: SimulatedRule[] = [...this.#rules.values()].map((rule) => {
      const c = this.#counters.get(rule.id)!
      const ended_at = inForce(rule) ? null : rule.updated_at
      return {
        rule,
        ended_at,
        held_ms: (ended_at ?? end) - rule.created_at,
        ...c,
        spend_usd: round(c.spend_usd),
        saved_usd: round(c.saved_usd),
      }
    })
    const sum = (f: (s: SimulatedRule) => number) => round(rules.reduce((a, s) => a + f(s), 0))
    return {
      rules,
      totals: {
        rules: rules.length,
        calls: sum((s) => s.calls),
        spend_usd: sum((s) => s.spend_usd),
        saved_usd: sum((s) => s.saved_usd),
        skipped: this.#skipped,
      },
    }
  }

  /** Rules whose time is up end at their `expires_at` (a lifted rule already ended when lifted). */
  #expire(now: number): void {
    for (const r of dueToExpire(this.#rules.values(), now))
      this.#rules.set(r.id, expired(r, r.expires_at).rule)
  }
}

const links = (x: Pick<Alert, 'dedupe_key'> & { at: number }) => ({ page: `#${alertId(x.dedupe_key, x.at)}` })

const round = (x: number) => Math.round(x * 1e8) / 1e8
