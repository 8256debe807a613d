import type { Alert } from '../alerts/alert.js'
import type { Rule } from '../../schemas/rule.js'
import { actionOf, actionProblem, gatewayScopeOf, ruleForAlert, type RulePolicy } from './rule-from-alert.js'
import { created, extended, inForce, lifted, type RuleChange } from './rule-transitions.js'

/** An alert that asked for an action the enforcer did not take, and why (logged, shown in dry runs). */
export interface Skipped {
  alert_id: string
  reason: string
}

/** Push targets as the planner sees them. */
export interface TargetInfo {
  name: string
  supports(rule: Rule): boolean
}

/**
 * Turns stored alert changes into rule changes, in order. `rules` are the rules the enforcer knows (in
 * force, and ended ones of recent incidents), by id.
 * - a firing alert whose policy names an action makes a rule for its scope, or extends the rule in force
 *   for the same cause (dedupe key): one rule per scope and cause, never stacked copies;
 * - a rule lifted by hand is not made again for the same incident (alert id);
 * - a resolved alert lifts the rules of its cause (when `lift_on_resolve`).
 */
export function planFromAlerts(
  rules: ReadonlyMap<string, Rule>,
  alerts: readonly Alert[],
  policy: RulePolicy,
  targets: readonly TargetInfo[],
  now: number,
): { changes: RuleChange[]; skipped: Skipped[] } {
  const current = new Map(rules)
  const changes: RuleChange[] = []
  const skipped: Skipped[] = []
  const put = (c: RuleChange) => {
    current.set(c.rule.id, c.rule)
    changes.push(c)
  }
  const byCause = (key: string) =>
    [...current.values()].filter(
      (r) => inForce(r) && r.reason.kind === 'alert' && r.reason.dedupe_key === key,
    )

  for (const alert of alerts) {
    if (alert.state === 'resolved') {
      if (!policy.enforcement.lift_on_resolve) continue
      for (const r of byCause(alert.dedupe_key)) put(lifted(r, 'alert_resolved', now))
      continue
    }
    const action = actionOf(alert, policy)
    if (!action || policy.enforcement.mode === 'off') continue
    const scope = gatewayScopeOf(alert)
    if (!scope) {
      skipped.push({
        alert_id: alert.id,
        reason: `scope ${alert.scope.kind} cannot be matched at the gateway`,
      })
      continue
    }
    const problem = actionProblem(action, policy.enforcement.gateway_models)
    if (problem) {
      skipped.push({ alert_id: alert.id, reason: problem })
      continue
    }
    const rule = ruleForAlert(alert, action, scope, policy, now)
    if (current.has(rule.id)) continue // this incident already has its rule (in force, or lifted by hand)
    const same = byCause(alert.dedupe_key)[0]
    if (same) {
      if (same.reason.kind === 'alert' && same.reason.alert_id === alert.id) continue // already extended for it
      put(extended(same, rule.expires_at, rule.reason, now))
      continue
    }
    const info = targets.map((t) => ({ name: t.name, supports: t.supports(rule) }))
    put(created(rule, info, `detector:${alert.type}`, now))
  }
  return { changes, skipped }
}

/** Rules whose time is up at `now`. */
export function dueToExpire(rules: Iterable<Rule>, now: number): Rule[] {
  return [...rules].filter((r) => inForce(r) && r.expires_at <= now)
}
