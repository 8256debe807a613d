import { alertId, applyFindings, type AlertBook } from '../alerts/alert-book.js'
import type { Finding } from '../detectors/finding.js'
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
export class EnforcementSimulator {
  #book: AlertBook = { open: {} }
  #rules = new Map<string, Rule>()
  #stats = new Map<string, SimulatedRule>()
  #skipped = 0
  #pending: RequestEvent[] = []
  #maxTs = -Infinity

  /** `lateness`: the detectors' `allowed_lateness` (events are judged behind the same watermark). */
  constructor(
    private readonly policy: RulePolicy,
    private readonly prices: PriceTable,
    private readonly lateness = 0,
  ) {
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
    for (const s of this.#stats.values()) {
      const r = s.rule
      const end = s.ended_at ?? r.expires_at
      if (r.created_at >= e.ts || e.ts >= end || e.ts >= r.expires_at || !eventInScope(e, r.scope)) continue
      s.calls++
      s.spend_usd += e.cost_usd
      if (r.action.action === 'block') {
        s.blocked++
        s.saved_usd += e.cost_usd
        break // a blocked call is not downgraded too
      }
      const to = downgradeTarget(r.action, e.model_requested || e.model)
      if (to === undefined) continue
      s.downgraded++
      const hit = findPrice(this.prices, [to])
      if (!hit) s.unpriced++
      else
        s.saved_usd += Math.max(
          0,
          e.cost_usd -
            tokenCost(hit.price, { input: e.input_tokens, output: e.output_tokens, cached: e.cached_tokens }),
        )
      break
    }
  }

  /** Findings of the detectors, in order. */
  onFindings(findings: readonly Finding[]): void {
    for (const f of findings) {
      this.#expire(f.at)
      const r = applyFindings(this.#book, [f], (x) => ({ page: `#${alertId(x.dedupe_key, x.at)}` }))
      this.#book = r.book
      const plan = planFromAlerts(this.#rules, r.changes, this.policy, [], f.at)
      this.#skipped += plan.skipped.length
      for (const c of plan.changes) {
        this.#rules.set(c.rule.id, c.rule)
        const s = this.#stats.get(c.rule.id)
        if (!s)
          this.#stats.set(c.rule.id, {
            rule: c.rule,
            ended_at: null,
            held_ms: 0,
            calls: 0,
            downgraded: 0,
            blocked: 0,
            spend_usd: 0,
            saved_usd: 0,
            unpriced: 0,
          })
        else s.rule = c.rule
        if (!inForce(c.rule)) this.#ended(c.rule, f.at)
      }
    }
  }

  /** The report at `end` (the last instant replayed). */
  report(end: number): EnforcementReport {
    this.#judgeUntil(Infinity)
    this.#expire(end)
    const rules = [...this.#stats.values()].map((s) => ({
      ...s,
      held_ms: (s.ended_at ?? end) - s.rule.created_at,
      spend_usd: round(s.spend_usd),
      saved_usd: round(s.saved_usd),
    }))
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

  #expire(now: number): void {
    for (const r of dueToExpire(this.#rules.values(), now)) {
      const next = expired(r, r.expires_at).rule
      this.#rules.set(r.id, next)
      this.#stats.get(r.id)!.rule = next
      this.#ended(next, r.expires_at)
    }
  }

  #ended(rule: Rule, at: number): void {
    const s = this.#stats.get(rule.id)!
    s.ended_at = at
  }
}

const round = (x: number) => Math.round(x * 1e8) / 1e8
