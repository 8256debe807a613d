import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Alert } from '../../core/alerts/alert.js'
import { GatewardenError } from '../../core/errors.js'
import type { GatewayTarget, TargetOutcome } from '../../core/ports/gateway-target.js'
import type { RuleFilter, RuleStore } from '../../core/ports/rule-store.js'
import { activeSet } from '../../core/rules/active-set.js'
import { dueToExpire, planFromAlerts } from '../../core/rules/plan-rules.js'
import { actionProblem, ruleId, type RulePolicy } from '../../core/rules/rule-from-alert.js'
import {
  created,
  duePushes,
  expired,
  inForce,
  lifted,
  pushed,
  type RuleChange,
} from '../../core/rules/rule-transitions.js'
import { Duration } from '../../schemas/policy.js'
import type { ActiveRules, ManualRuleInput, Rule, RuleEvent } from '../../schemas/rule.js'

/** How long ended rules stay in memory (to know an incident already had its rule). */
const KEEP_ENDED_MS = 7 * 86_400_000

export interface EnforcerDeps {
  store: RuleStore
  targets: readonly GatewayTarget[]
  policy: RulePolicy
  /** How often pushes are re-driven, expiries applied and rules re-read from the store. */
  tickMs: number
  /** Pushes and expiries run on ONE instance (the budget leader), so a gateway sees each change once. */
  isLeader: () => boolean
  /**
   * Alerts open in this instance: each tick makes the rules their policy asks for and that are missing
   * (a change whose rule write failed, or a crash between the alert and its rule). Idempotent.
   */
  openAlerts?: () => readonly Alert[]
  log: Logger
  now: () => number
}

/**
 * Turns alerts into gateway rules and keeps the gateways in line with them.
 *
 * Invariants:
 * - a change is stored (rule version + audit row) BEFORE memory or any gateway sees it;
 * - every rule expires; a push that fails stays owed and is re-driven each tick (the rules table is the
 *   outbox), after a restart too; targets are idempotent;
 * - fail open: nothing here blocks traffic except a rule a gateway holds, and every rule has an expiry the
 *   gateway knows (the hook drops it by its own clock);
 * - `dry_run` records every rule it would make and pushes nothing; `/api/rules/active` never serves one.
 */
export class Enforcer {
  readonly #deps: EnforcerDeps
  #rules = new Map<string, Rule>()
  #chain: Promise<unknown> = Promise.resolve()
  #timer: NodeJS.Timeout | undefined
  #pushing: Promise<void> | undefined
  #stopped = false

  constructor(deps: EnforcerDeps) {
    this.#deps = deps
  }

  /** Loads the rules in force (and recent ones), starts ticking. */
  async start(): Promise<void> {
    await this.#reload()
    this.#timer = setInterval(() => void this.tick(), this.#deps.tickMs)
    this.#timer.unref()
    this.#deps.log.info(
      {
        mode: this.#deps.policy.enforcement.mode,
        inForce: this.#inForce().length,
        targets: this.#deps.targets.map((t) => t.name),
      },
      'enforcer started',
    )
  }

  /** Stored alert changes, in order (from the detection engine). */
  onAlertChanges(alerts: readonly Alert[], now: number): Promise<void> {
    return this.#serial(async () => {
      const plan = planFromAlerts(this.#rules, alerts, this.#deps.policy, this.#deps.targets, now)
      for (const s of plan.skipped) this.#deps.log.warn(s, 'alert action not enforced')
      await this.#commit(plan.changes)
      if (plan.changes.length > 0) this.#kick()
    })
  }

  /** A rule by hand (POST /api/rules). */
  createManual(input: ManualRuleInput): Promise<Rule> {
    return this.#serial(async () => {
      const { mode, gateway_models } = this.#deps.policy.enforcement
      if (mode === 'off')
        throw new GatewardenError(
          'GW_ENFORCEMENT_OFF',
          'enforcement.mode is off: set it to dry_run or enforce',
          false,
        )
      const problem = actionProblem(input.action, gateway_models)
      if (problem) throw new GatewardenError('GW_RULE_INVALID', problem, false)
      const now = this.#deps.now()
      const expiresAt = expiryOf(input, now)
      if (expiresAt <= now)
        throw new GatewardenError('GW_RULE_INVALID', 'expires_at must be in the future', false)
      const rule: Rule = {
        id: ruleId(`manual\u0000${randomUUID()}`),
        scope: input.scope,
        action: input.action,
        reason: { kind: 'manual', by: input.by, why: input.why },
        mode: mode === 'enforce' ? 'enforce' : 'dry_run',
        state: 'pending',
        created_at: now,
        updated_at: now,
        expires_at: expiresAt,
        ended_by: null,
        targets: [],
      }
      const targets = this.#deps.targets.map((t) => ({ name: t.name, supports: t.supports(rule) }))
      const change = created(rule, targets, `manual:${input.by}`, now)
      await this.#commit([change])
      this.#kick()
      return change.rule
    })
  }

  /** Lifts a rule (DELETE /api/rules/:id). Undefined when there is no such rule. */
  lift(id: string, by: string): Promise<Rule | undefined> {
    return this.#serial(async () => {
      const rule = this.#rules.get(id) ?? (await this.#deps.store.get(id))
      if (!rule) return undefined
      if (!inForce(rule) && rule.state !== 'failed') return rule
      const change = lifted(rule, `manual:${by}`, this.#deps.now())
      await this.#commit([change])
      this.#kick()
      return change.rule
    })
  }

  /** Rules in force now by mode and action (the `gatewarden_rules_in_force` gauge). */
  inForceCounts(): { mode: string; action: string; state: string; n: number }[] {
    const counts = new Map<string, { mode: string; action: string; state: string; n: number }>()
    for (const r of this.#inForce()) {
      const k = `${r.mode}\u0000${r.action.action}\u0000${r.state}`
      const c = counts.get(k) ?? { mode: r.mode, action: r.action.action, state: r.state, n: 0 }
      c.n++
      counts.set(k, c)
    }
    return [...counts.values()]
  }

  /** What gateways enforce now (GET /api/rules/active). */
  active(): ActiveRules {
    return activeSet(this.#rules.values(), this.#deps.now())
  }

  list(filter: RuleFilter): Promise<Rule[]> {
    return this.#deps.store.list(filter)
  }

  async get(id: string): Promise<{ rule: Rule; events: RuleEvent[] } | undefined> {
    const rule = await this.#deps.store.get(id)
    return rule ? { rule, events: await this.#deps.store.events(id) } : undefined
  }

  /** One round: re-read rules (other instances make some), expire, push what is owed (leader only). */
  tick(): Promise<void> {
    return this.#serial(async () => {
      await this.#reload()
      const now = this.#deps.now()
      const open = this.#deps.openAlerts?.() ?? []
      if (open.length > 0) {
        const plan = planFromAlerts(this.#rules, open, this.#deps.policy, this.#deps.targets, now)
        await this.#commit(plan.changes)
      }
      if (!this.#deps.isLeader()) return
      await this.#commit(dueToExpire(this.#rules.values(), now).map((r) => expired(r, now)))
      this.#kick()
    })
  }

  /** Waits for the work under way, pushes included. */
  async flush(): Promise<void> {
    await this.#chain
    while (this.#pushing) await this.#pushing
  }

  /** Stops ticking and waits (bounded) for the work under way. */
  async shutdown(timeoutMs = 5_000): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.flush(), new Promise((r) => (timer = setTimeout(r, timeoutMs)))])
    clearTimeout(timer)
  }

  #inForce(): Rule[] {
    return [...this.#rules.values()].filter(inForce)
  }

  async #reload(): Promise<void> {
    const now = this.#deps.now()
    const rules = await this.#deps.store.load(now - KEEP_ENDED_MS)
    this.#rules = new Map(rules.map((r) => [r.id, r]))
  }

  /** Persist first, then memory. */
  async #commit(changes: readonly RuleChange[]): Promise<void> {
    if (changes.length === 0) return
    await this.#deps.store.write(changes)
    for (const c of changes) {
      this.#rules.set(c.rule.id, c.rule)
      this.#deps.log.info(
        {
          rule: c.rule.id,
          event: c.event.kind,
          actor: c.event.actor,
          target: c.event.target || undefined,
          state: c.rule.state,
          mode: c.rule.mode,
          scope: c.rule.scope,
          action: c.rule.action.action,
          expires_at: new Date(c.rule.expires_at).toISOString(),
        },
        'rule changed',
      )
    }
  }

  /** Starts a push round unless one runs (pushes can be slow: they never hold the chain). */
  #kick(): void {
    if (this.#pushing || this.#stopped || !this.#deps.isLeader() || this.#deps.targets.length === 0) return
    this.#pushing = this.#pushRound()
      .catch((err: unknown) => this.#deps.log.error({ err }, 'rule push round failed'))
      .finally(() => (this.#pushing = undefined))
  }

  async #pushRound(): Promise<void> {
    const targets = new Map(this.#deps.targets.map((t) => [t.name, t]))
    const owed = [...this.#rules.values()].flatMap((r) => duePushes(r).map((p) => ({ id: r.id, ...p })))
    for (const p of owed) {
      if (this.#stopped) return
      const target = targets.get(p.target)
      const rule = this.#rules.get(p.id)
      if (!target || !rule) continue
      const outcome: TargetOutcome = await (
        p.op === 'apply' ? target.apply(rule) : target.remove(rule)
      ).catch((err: unknown) => ({
        ok: false,
        retryable: true,
        code: 'GW_TARGET_ERROR',
        message: String((err as Error).message ?? err),
        answer: '',
      }))
      await this.#serial(async () => {
        const current = this.#rules.get(p.id)
        if (!current) return
        // a rule that ended while its apply ran keeps the target `applied`: the next round removes it
        await this.#commit([pushed(current, p.target, p.op, outcome, this.#deps.now())])
      })
    }
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work, work)
    this.#chain = next.catch(() => undefined)
    return next
  }
}

/** A manual rule's expiry from `duration` or `expires_at` (ISO or epoch ms). */
function expiryOf(input: ManualRuleInput, now: number): number {
  if (input.duration !== undefined) return now + Duration.parse(input.duration)
  const at = input.expires_at!
  const ms = typeof at === 'number' ? at : Date.parse(at)
  if (Number.isNaN(ms)) throw new GatewardenError('GW_RULE_INVALID', 'expires_at is not a date', false)
  return ms
}
