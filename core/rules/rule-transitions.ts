import type { Rule, RuleEvent, RuleEventKind, TargetStatus } from '../../schemas/rule.js'
import type { TargetOutcome } from '../ports/gateway-target.js'

/** A rule's new version and the audit row that says why. Store both; the event log is append-only. */
export interface RuleChange {
  rule: Rule
  event: RuleEvent
}

/** A push that keeps failing is given up after this many attempts (the rule then shows `failed`). */
export const MAX_TARGET_ATTEMPTS = 20

/** True while a rule is in force (served to gateways, held by targets). */
export const inForce = (r: Rule): boolean => r.state === 'pending' || r.state === 'active'

const snapshot = (r: Rule): string =>
  JSON.stringify({ state: r.state, expires_at: r.expires_at, targets: r.targets.map((t) => t.state) })

/** The audit row for going from `before` to `after`. */
export function ruleEvent(
  kind: RuleEventKind,
  before: Rule | null,
  after: Rule,
  actor: string,
  at: number,
  extra: { target?: string; answer?: string } = {},
): RuleEvent {
  return {
    rule_id: after.id,
    at,
    kind,
    actor,
    target: extra.target ?? '',
    before: before ? snapshot(before) : '',
    after: snapshot(after),
    answer: (extra.answer ?? '').slice(0, 2000),
  }
}

/**
 * A new rule's first version, with one status per push target: `skipped` in dry run or where the target
 * cannot express the rule, else `pending`. A rule with nothing to push to is `active` at once (the
 * LiteLLM hook pulls it).
 */
export function created(
  rule: Rule,
  targets: readonly { name: string; supports: boolean }[],
  actor: string,
  now: number,
): RuleChange {
  const statuses: TargetStatus[] = targets.map((t) => ({
    target: t.name,
    state: rule.mode === 'dry_run' || !t.supports ? 'skipped' : 'pending',
    attempts: 0,
    last_error:
      rule.mode === 'dry_run' ? 'dry run' : t.supports ? null : 'scope not supported by this target',
    updated_at: now,
  }))
  const next = settle({ ...rule, targets: statuses, created_at: now, updated_at: now })
  return { rule: next, event: ruleEvent('created', null, next, actor, now) }
}

/** `pending` until every push target holds the rule; `failed` when every one gave up. */
function settle(r: Rule): Rule {
  if (!inForce(r)) return r
  const push = r.targets.filter((t) => t.state !== 'skipped')
  if (push.length === 0 || push.every((t) => t.state === 'applied')) return { ...r, state: 'active' }
  if (push.every((t) => t.state === 'failed')) return { ...r, state: 'failed' }
  if (push.some((t) => t.state === 'pending')) return { ...r, state: 'pending' }
  return { ...r, state: 'active' }
}

/** Ends a rule by hand or because its cause is gone. Targets holding it now owe a removal. */
export function lifted(rule: Rule, by: string, now: number): RuleChange {
  const next: Rule = {
    ...rule,
    state: 'lifted',
    ended_by: by,
    updated_at: now,
    targets: rule.targets.map((t) =>
      t.state === 'pending' ? { ...t, state: 'skipped', last_error: 'lifted before applied' } : t,
    ),
  }
  return { rule: next, event: ruleEvent('lifted', rule, next, by, now) }
}

/** Ends a rule at its `expires_at`. */
export function expired(rule: Rule, now: number): RuleChange {
  const next: Rule = {
    ...lifted(rule, 'expiry', now).rule,
    state: 'expired',
  }
  return { rule: next, event: ruleEvent('expired', rule, next, 'expiry', now) }
}

/**
 * Extends a rule in force to a later expiry for a new alert of the same cause (never shortens it). Push
 * targets that hold it get it again (their apply is idempotent; a webhook learns the new expiry).
 */
export function extended(rule: Rule, expiresAt: number, reason: Rule['reason'], now: number): RuleChange {
  const later = expiresAt > rule.expires_at
  const targets = rule.targets.map((t): TargetStatus =>
    later && t.state === 'applied' ? { ...t, state: 'pending', attempts: 0, updated_at: now } : t,
  )
  const next: Rule = settle({
    ...rule,
    expires_at: Math.max(rule.expires_at, expiresAt),
    reason,
    updated_at: now,
    targets,
  })
  const actor = reason.kind === 'alert' ? `detector:${reason.alert_type}` : `manual:${reason.by}`
  return { rule: next, event: ruleEvent('extended', rule, next, actor, now) }
}

/** What each target still owes: an apply while the rule is in force, a removal once it ended. */
export function duePushes(rule: Rule): { target: string; op: 'apply' | 'remove' }[] {
  if (rule.mode === 'dry_run') return []
  if (inForce(rule) || rule.state === 'failed')
    return rule.targets.filter((t) => t.state === 'pending').map((t) => ({ target: t.target, op: 'apply' }))
  return rule.targets.filter((t) => t.state === 'applied').map((t) => ({ target: t.target, op: 'remove' }))
}

/** Records one push's outcome on the rule. */
export function pushed(
  rule: Rule,
  target: string,
  op: 'apply' | 'remove',
  outcome: TargetOutcome,
  now: number,
): RuleChange {
  const targets = rule.targets.map((t): TargetStatus => {
    if (t.target !== target) return t
    const attempts = t.attempts + 1
    if (outcome.ok)
      return {
        ...t,
        state: op === 'apply' ? 'applied' : 'removed',
        attempts,
        last_error: null,
        updated_at: now,
      }
    const giveUp = !outcome.retryable || attempts >= MAX_TARGET_ATTEMPTS
    const error = `${outcome.code}: ${outcome.message}`.slice(0, 500)
    if (op === 'apply')
      return { ...t, state: giveUp ? 'failed' : 'pending', attempts, last_error: error, updated_at: now }
    return { ...t, state: giveUp ? 'failed' : 'applied', attempts, last_error: error, updated_at: now }
  })
  const next = settle({ ...rule, targets, updated_at: now })
  const kind: RuleEventKind = outcome.ok
    ? op === 'apply'
      ? 'applied'
      : 'removed'
    : op === 'apply'
      ? 'apply_failed'
      : 'remove_failed'
  return {
    rule: next,
    event: ruleEvent(kind, rule, next, `target:${target}`, now, { target, answer: outcome.answer }),
  }
}
