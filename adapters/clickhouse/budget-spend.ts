import type { ClickHouseClient } from '@clickhouse/client'
import type { ScopeSpend, SpendReader } from '../../core/ports/spend-reader.js'
import type { BudgetScope } from '../../schemas/policy.js'
import type { StoreClient } from './client.js'

export type { ScopeSpend }

/** The SpendReader port on ClickHouse: global sums from the per-minute rollup. */
export function clickHouseSpendReader(store: StoreClient): SpendReader {
  const { client, database } = store
  return {
    budgetSpend: (scope, at, periodStart, windowsMs) =>
      budgetSpend(client, database, scope, at, periodStart, windowsMs),
  }
}

const COLUMN: Record<string, string> = {
  customer: 'customer',
  team: 'team',
  key: 'api_key_hash',
  endpoint: 'endpoint',
  agent: 'agent',
  model: 'model',
}

/**
 * Global spend for a budget scope from the per-minute rollup, so every instance sees the same sums
 * (budget math never uses one instance's share). Windows are [at - w, at) rounded down to whole minutes;
 * the period sum covers [periodStart, at). `{}` is the global scope (scopeId ''), `{ customer: '*' }` gives
 * one row per customer seen, `{ key: v }` matches the key hash or its alias, `{ tier: pro }` gives one row
 * per customer with spend on calls of that tier.
 */
export async function budgetSpend(
  client: ClickHouseClient,
  database: string,
  scope: BudgetScope,
  at: number,
  periodStart: number,
  windowsMs: readonly number[],
): Promise<ScopeSpend[]> {
  const [kind, value] = Object.entries(scope)[0] ?? ['global', '']
  // a tier budget: one row per customer whose calls carry the tier
  const col = kind === 'global' ? "''" : kind === 'tier' ? 'customer' : COLUMN[kind]
  if (!col) throw new Error(`unknown budget scope ${kind}`)
  const params: Record<string, unknown> = { at, period: periodStart, value }
  const sums = windowsMs.map((w, i) => {
    params[`w${i}`] = at - w
    return `toFloat64(sumIf(cost_usd, minute >= toStartOfMinute(fromUnixTimestamp64Milli({w${i}:Int64}, 'UTC')))) AS s_w${i}`
  })
  const since = Math.min(periodStart, ...windowsMs.map((w) => at - w))
  params.since = since
  const filter =
    kind === 'tier'
      ? "AND tier = {value:String} AND customer != ''"
      : kind === 'global' || value === '*'
        ? ''
        : kind === 'key'
          ? 'AND (api_key_hash = {value:String} OR api_key_alias = {value:String})'
          : `AND ${col} = {value:String}`
  const rs = await client.query({
    query: `SELECT ${col} AS s_scope, toFloat64(sumIf(cost_usd, minute >= fromUnixTimestamp64Milli({period:Int64}, 'UTC'))) AS s_period, ${sums.join(', ')}
FROM ${database}.spend_by_minute
WHERE minute >= toStartOfMinute(fromUnixTimestamp64Milli({since:Int64}, 'UTC')) AND minute < fromUnixTimestamp64Milli({at:Int64}, 'UTC') ${filter}
GROUP BY s_scope`,
    query_params: params,
    format: 'JSONEachRow',
  })
  const rows = await rs.json<Record<string, string | number>>()
  const out = rows.map((r) => ({
    scopeId: kind === 'key' && value !== '*' ? String(value) : String(r.s_scope),
    periodSpend: Number(r.s_period),
    windowSpend: Object.fromEntries(windowsMs.map((w, i) => [w, Number(r[`s_w${i}`])])),
  }))
  // a named scope with no spend yet still has a (zero) snapshot: budgets are judged even when idle
  if (out.length === 0 && value !== '*' && kind !== 'tier')
    out.push({
      scopeId: kind === 'global' ? '' : String(value),
      periodSpend: 0,
      windowSpend: Object.fromEntries(windowsMs.map((w) => [w, 0])),
    })
  return out
}
