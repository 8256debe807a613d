import type { MinuteSpendReader, ScopeMinuteSpend } from '../../core/ports/minute-spend-reader.js'
import type { BudgetScope } from '../../schemas/policy.js'
import type { StoreClient } from './client.js'
import { rollupScope } from './rollup-scope.js'

/** The MinuteSpendReader port on the per-minute rollup (`spend_by_minute`, kept 35 days). */
export function clickHouseMinuteSpendReader(store: StoreClient): MinuteSpendReader {
  return { minuteSpend: (scope, from, to) => minuteSpend(store, scope, from, to) }
}

/**
 * Per value of `scope`: its spend and requests in each minute of epoch minutes `[fromMinute, toMinute)`
 * that has a rollup row. One scan of the range's daily partitions (the rollup is keyed by customer first);
 * on the embedded engine it goes in the read lane.
 */
export async function minuteSpend(
  store: StoreClient,
  scope: BudgetScope,
  fromMinute: number,
  toMinute: number,
): Promise<ScopeMinuteSpend[]> {
  const { kind, id, filter, value } = rollupScope(scope)
  if (fromMinute >= toMinute) return []
  const client = store.reads ?? store.client
  const rows = await (
    await client.query({
      query: `SELECT s_id, arrayMap(x -> x.1, s) AS s_minutes, arrayMap(x -> x.2, s) AS s_costs,
    arrayMap(x -> x.3, s) AS s_requests FROM (
  SELECT s_id, arraySort(groupArray((s_minute, s_cost, s_requests))) AS s FROM (
    SELECT ${id} AS s_id, toUInt32(intDiv(toUInt32(minute), 60)) AS s_minute,
      toFloat64(sum(cost_usd)) AS s_cost, toUInt32(sum(requests)) AS s_requests
    FROM ${store.database}.spend_by_minute
    WHERE minute >= toDateTime({from:UInt32}, 'UTC') AND minute < toDateTime({to:UInt32}, 'UTC') ${filter}
    GROUP BY s_id, s_minute
  ) GROUP BY s_id
)`,
      query_params: { from: fromMinute * 60, to: toMinute * 60, value },
      format: 'JSONEachRow',
    })
  ).json<{ s_id: string; s_minutes: number[]; s_costs: number[]; s_requests: number[] }>()
  return rows.map((r) => ({
    kind,
    id: String(r.s_id),
    minutes: r.s_minutes.map(Number),
    costs: r.s_costs.map(Number),
    requests: r.s_requests.map(Number),
  }))
}
