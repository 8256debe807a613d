import type { BudgetScope } from '../../schemas/policy.js'

/** Each dimension's value as the detectors see it (a key: its hash, else its alias). */
const VALUE: Record<string, string> = {
  customer: 'customer',
  team: 'team',
  key: "if(api_key_hash != '', api_key_hash, api_key_alias)",
  endpoint: 'endpoint',
  agent: 'agent',
  model: 'model',
}

/**
 * A spend anomaly scope over a spend rollup (`spend_by_minute`, `spend_by_hour`): its kind, the
 * expression of the value each row counts toward (`id`, as `budgetScopeId` gives it), the filter to AND
 * onto the range (`{value:String}` is `value`). `{ x: '*' }`: every value but the empty one; `{ x: v }`:
 * `v` (a key by hash or alias); `{}`: one value, ''.
 */
export function rollupScope(scope: BudgetScope): { kind: string; id: string; filter: string; value: string } {
  const [kind, value] = Object.entries(scope)[0] ?? ['global', '']
  const col = kind === 'global' ? "''" : VALUE[kind]
  if (!col) throw new Error(`unknown scope ${kind}`)
  const filter =
    kind === 'global'
      ? ''
      : value === '*'
        ? `AND ${col} != ''`
        : kind === 'key'
          ? 'AND (api_key_hash = {value:String} OR api_key_alias = {value:String})'
          : `AND ${col} = {value:String}`
  const id = kind === 'key' && value !== '*' ? '{value:String}' : col
  return { kind, id, filter, value }
}
