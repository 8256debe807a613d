import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ClickHouseClient } from '@clickhouse/client'
import { embeddedLanes, READ_MAX_EXECUTION_S } from './store-lanes.js'
import { clickHouseCostReader } from './cost-query.js'
import { clickHouseDeadLetterReader } from './dead-letters-table.js'
import type { StoreClient } from './client.js'
import { CostQuery } from '../../schemas/api.js'
import { planCostQuery } from '../../core/cost-plan.js'

/**
 * An engine that runs statements only when the test finishes them; every query answers no rows (as
 * JSONEachRow rows or a JSON document). The lanes in front of it are the real ones (store-lanes.ts), so
 * what is checked is which lane each reader of this package sends its statements to.
 */
function heldStore() {
  const started: Array<{ what: string; limit: unknown; finish: () => void }> = []
  const run = (params: { query?: string; table?: string; clickhouse_settings?: Record<string, unknown> }) =>
    new Promise<unknown>((resolve) => {
      started.push({
        what: (params.query ?? params.table ?? '').trim().split(/\s+/).slice(0, 2).join(' '),
        limit: params.clickhouse_settings?.max_execution_time,
        finish: () =>
          resolve({ json: () => Promise.resolve([]), text: () => Promise.resolve('{"data": []}') }),
      })
    })
  const engine = { query: run, insert: run, command: run, close: () => Promise.resolve() }
  const lanes = embeddedLanes(engine as unknown as ClickHouseClient)
  const store: StoreClient = {
    client: lanes.store,
    reads: lanes.read,
    database: 'db',
    kind: 'embedded',
    location: '/nowhere',
  }
  return { store, started }
}

const settle = () => new Promise((r) => setImmediate(r))

test('the cost and dead-letter readers read through the read lane: store work queued after them goes first', async () => {
  const { store, started } = heldStore()
  const busy = store.client.command({ query: 'OPTIMIZE busy' })
  await settle()
  const q = CostQuery.parse({ group_by: 'model', from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' })
  const plan = planCostQuery(q, Date.parse('2026-11-03T00:00:00Z'), 2)
  assert.ok(!('error' in plan))
  const reader = clickHouseCostReader(store)
  const reads = [
    reader.costWithTotal!(q, plan),
    reader.cost({ ...q, group_by: [] }, plan),
    clickHouseDeadLetterReader(store).list(10),
  ]
  const insert = store.client.insert({ table: 'db.requests', values: [] })
  for (let i = 0; i < 5; i++) {
    while (started.length <= i) await settle()
    started[i]!.finish()
  }
  await Promise.all([busy, insert, ...reads])
  // the lanes send a limit only when the session holds another one: each statement runs under the last sent
  let held: unknown
  assert.deepEqual(
    started.map((s) => [s.what, (held = s.limit ?? held)]),
    [
      ['OPTIMIZE busy', 0],
      ['db.requests', 0],
      ['SELECT model', READ_MAX_EXECUTION_S],
      ['SELECT toFloat64(sum(cost_usd))', READ_MAX_EXECUTION_S],
      ['SELECT toString(received_at)', READ_MAX_EXECUTION_S],
    ],
  )
})
