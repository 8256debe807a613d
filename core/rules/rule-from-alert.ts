import { createHash } from 'node:crypto'
import type { Alert } from '../alerts/alert.js'
import { EnforcementAction } from '../../schemas/policy.js'
import type { EnforcementConfig } from '../../schemas/enforcement-config.js'
import { RuleScopeKind, type Rule, type RuleScope } from '../../schemas/rule.js'

/** What the enforcer needs of the configuration. */
export interface RulePolicy {
  enforcement: Pick<EnforcementConfig, 'mode' | 'ttl' | 'lift_on_resolve' | 'gateway_models'>
  /** `detectors.zombie.action` (loops and budgets carry theirs on the alert). */
  zombieAction?: EnforcementAction | undefined
}

/** Stable rule id from what caused it: the same cause on two instances is one rule. */
export function ruleId(cause: string): string {
  return `rule_${createHash('sha256').update(cause).digest('hex').slice(0, 20)}`
}

/** The gateway action an alert asks for: the one recorded on it (loop, budget), or the zombie policy. */
export function actionOf(alert: Alert, policy: RulePolicy): EnforcementAction | undefined {
  const recorded = alert.details['action']
  if (typeof recorded === 'string') {
    try {
      const parsed = EnforcementAction.safeParse(JSON.parse(recorded))
      if (parsed.success) return parsed.data
    } catch {
      return undefined
    }
  }
  if (alert.type === 'zombie_agent') return policy.zombieAction
  return undefined
}

/**
 * Where at the gateway an alert's rule applies. Detector scopes the gateway cannot match (a trace, a
 * session, `global`) fall back to the agent named in the details (zombie sessions), else none.
 */
export function gatewayScopeOf(alert: Alert): RuleScope | undefined {
  const kind = RuleScopeKind.safeParse(alert.scope.kind)
  if (kind.success && alert.scope.id !== '') return { kind: kind.data, id: alert.scope.id }
  const agent = alert.details['agent']
  if (typeof agent === 'string' && agent !== '') return { kind: 'agent', id: agent }
  return undefined
}

/** Problems with an action (a downgrade may only point at models the gateway serves). */
export function actionProblem(action: EnforcementAction, gatewayModels: readonly string[]): string | null {
  if (action.action === 'block') return null
  if (Object.keys(action.map).length === 0) return 'a downgrade needs at least one model mapping'
  if (gatewayModels.length === 0) return null
  const unknown = Object.values(action.map).filter((m) => !gatewayModels.includes(m))
  return unknown.length === 0
    ? null
    : `downgrade targets not in enforcement.gateway_models: ${unknown.join(', ')}`
}

/** End of a budget alert's period (a budget rule never outlives it). */
function periodEnd(alert: Alert): number | undefined {
  const end = alert.details['period_end']
  if (typeof end !== 'string') return undefined
  const ms = Date.parse(end)
  return Number.isNaN(ms) ? undefined : ms
}

/** When a rule made now for `alert` expires: the action's TTL, capped by a budget's period end. */
export function expiryFor(
  action: EnforcementAction,
  alert: Alert | undefined,
  ttl: RulePolicy['enforcement']['ttl'],
  now: number,
): number {
  const byTtl = now + (action.action === 'block' ? ttl.block : ttl.downgrade)
  const end = alert ? periodEnd(alert) : undefined
  return end !== undefined && end > now ? Math.min(byTtl, end) : byTtl
}

/** A new rule for a firing alert (before any target has seen it). */
export function ruleForAlert(
  alert: Alert,
  action: EnforcementAction,
  scope: RuleScope,
  policy: RulePolicy,
  now: number,
): Rule {
  return {
    id: ruleId(`alert\u0000${alert.id}`),
    scope,
    action,
    reason: {
      kind: 'alert',
      alert_id: alert.id,
      alert_type: alert.type,
      dedupe_key: alert.dedupe_key,
      summary: alert.summary,
    },
    mode: policy.enforcement.mode === 'enforce' ? 'enforce' : 'dry_run',
    state: 'pending',
    created_at: now,
    updated_at: now,
    expires_at: expiryFor(action, alert, policy.enforcement.ttl, now),
    ended_by: null,
    targets: [],
  }
}
