import assert from 'node:assert/strict'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { queryCost } from '../../adapters/clickhouse/cost-query.js'
import { planCostQuery } from '../../core/cost-plan.js'
import { CostQuery } from '../../schemas/api.js'

/** Every group-by the cost API is asked for in tests: each dimension, combined, and by time. */
export const COST_GROUP_BYS = ['customer', 'customer,model', 'key,endpoint,agent,team', 'day,model', 'hour']

/**
 * Asserts that the hourly rollup, the minute rollup and raw rows give identical rows for every group-by
 * over [fromMs, toMs) (whole hours; the minute and raw ranges start one minute / one ms earlier, before
 * any event). `nowMs` must keep `fromMs` inside the minute rollup's window.
 */
export async function assertCostSourcesAgree(
  store: StoreClient,
  fromMs: number,
  toMs: number,
  nowMs: number,
): Promise<void> {
  const to = new Date(toMs).toISOString()
  for (const group_by of COST_GROUP_BYS) {
    const answers = []
    for (const from of [fromMs, fromMs - 60_000, fromMs - 1]) {
      const q = CostQuery.parse({ group_by, from: new Date(from).toISOString(), to })
      const plan = planCostQuery(q, nowMs, 35)
      assert.ok(!('error' in plan))
      answers.push({ source: plan.source, rows: await queryCost(store.client, store.database, q, plan) })
    }
    assert.deepEqual(
      answers.map((a) => a.source),
      ['spend_by_hour', 'spend_by_minute', 'requests'],
    )
    assert.ok(answers[0]!.rows.length > 0, `${group_by}: some rows`)
    assert.deepEqual(answers[1]!.rows, answers[0]!.rows, `${group_by}: minute vs hour`)
    assert.deepEqual(answers[2]!.rows, answers[0]!.rows, `${group_by}: raw vs hour`)
  }
}
