import type { EnforcementAction } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { RuleScope } from '../../schemas/rule.js'

/**
 * Whether a stored event falls under a rule's scope: the same attribution the LiteLLM hook matches a
 * live request on (customer; team id or alias; key hash or alias; endpoint; agent; requested model).
 */
export function eventInScope(e: RequestEvent, scope: RuleScope): boolean {
  switch (scope.kind) {
    case 'customer':
      return e.customer === scope.id
    case 'team':
      return e.team === scope.id || e.team_alias === scope.id
    case 'key':
      return e.api_key_hash === scope.id || e.api_key_alias === scope.id
    case 'endpoint':
      return e.endpoint === scope.id
    case 'agent':
      return e.agent === scope.id
    case 'model':
      return e.model_requested === scope.id || e.model === scope.id
  }
}

/** The model a downgrade sends `model` to (its own entry, else `*`), or undefined when it keeps it. */
export function downgradeTarget(action: EnforcementAction, model: string): string | undefined {
  if (action.action !== 'downgrade') return undefined
  const to = action.map[model] ?? action.map['*']
  return to === undefined || to === model ? undefined : to
}
