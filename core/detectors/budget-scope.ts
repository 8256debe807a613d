import type { Budget, ScopeKind } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { Scope } from './finding.js'

type Dimension = Exclude<ScopeKind, 'global'>

/** The tier of a `{ tier: pro }` budget (one budget per customer of that tier), else undefined. */
export function budgetTier(budget: Pick<Budget, 'scope'>): string | undefined {
  return budget.scope.tier
}

/**
 * The dimension a budget's scopes are of (`global` for `{}`). A tier budget's scopes are customers:
 * `{ tier: pro }` is judged per customer whose calls carry that tier.
 */
export function budgetScopeKind(budget: Pick<Budget, 'scope'>): ScopeKind {
  if (budgetTier(budget) !== undefined) return 'customer'
  const dims = Object.keys(budget.scope) as Dimension[]
  return dims[0] ?? 'global'
}

/**
 * The configured value: '' for global, `*` for "each one separately" (a tier budget is one per
 * customer, so `*` too), else the one value.
 */
export function budgetScopeValue(budget: Pick<Budget, 'scope'>): string {
  if (budgetTier(budget) !== undefined) return '*'
  const kind = budgetScopeKind(budget)
  return kind === 'global' ? '' : (budget.scope[kind] ?? '')
}

/**
 * What tells the scopes of different budgets apart when they count the same values: the dimension and
 * `*` or `=` (each value or one value), and for a tier budget its tier (a pro customer's spend under
 * `{ tier: pro }` is not its spend under `{ customer: "*" }`: it counts only its pro-tier calls).
 */
export function budgetSeriesPrefix(budget: Pick<Budget, 'scope'>): string {
  const tier = budgetTier(budget)
  if (tier !== undefined) return `tier\u0001${tier}\u0001`
  return `${budgetScopeKind(budget)}\u0001${isEachBudget(budget) ? '*' : '='}\u0001`
}

/** True for `{ customer: "*" }`-style budgets: one budget per value seen. */
export function isEachBudget(budget: Pick<Budget, 'scope'>): boolean {
  return budgetScopeValue(budget) === '*'
}

/**
 * Values of an event for a dimension: the id first, then its alias where the event has one
 * (a team by id or alias, a key by hash or alias). Empty strings mean "unknown".
 */
function eventValues(kind: Dimension, e: RequestEvent): [string, string] {
  switch (kind) {
    case 'customer':
      return [e.customer, '']
    case 'team':
      return [e.team, e.team_alias]
    case 'key':
      return [e.api_key_hash, e.api_key_alias]
    case 'endpoint':
      return [e.endpoint, '']
    case 'agent':
      return [e.agent, '']
    case 'model':
      return [e.model, '']
  }
}

/**
 * Which scope of `budget` an event counts toward: '' for a global budget, the configured value for a
 * fixed budget (matched against id or alias), the event's own id (or alias when it has no id) for a
 * `*` budget, the customer for a tier budget when the event carries that tier; null when it does not
 * count. MUST: events with an unknown value never count toward a `*` or tier budget (an empty customer
 * is not a customer).
 */
export function budgetScopeId(budget: Pick<Budget, 'scope'>, e: RequestEvent): string | null {
  const tier = budgetTier(budget)
  if (tier !== undefined) return e.tier === tier && e.customer !== '' ? e.customer : null
  const kind = budgetScopeKind(budget)
  if (kind === 'global') return ''
  const want = budget.scope[kind] ?? ''
  const [id, alias] = eventValues(kind, e)
  if (want === '*') return id !== '' ? id : alias !== '' ? alias : null
  return want === id || (alias !== '' && want === alias) ? want : null
}

/** The finding scope of one budget scope. */
export function budgetScope(budget: Pick<Budget, 'scope'>, scopeId: string): Scope {
  return { kind: budgetScopeKind(budget), id: scopeId }
}

/** `customer acme`, `key sk-1…`, `global spend`: the subject of a summary. */
export function describeScope(scope: Scope): string {
  return scope.kind === 'global' ? 'global spend' : `${scope.kind} ${scope.id}`
}
