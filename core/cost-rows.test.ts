import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { CostRow } from '../schemas/api.js'
import { costColumns, shapeCost, sumRows, withComparison } from './cost-rows.js'

const row = (customer: string, cost: number, requests = 1): CostRow => ({
  customer,
  cost_usd: cost,
  requests,
  failures: 0,
  input_tokens: 10 * requests,
  output_tokens: requests,
  cached_tokens: 0,
})
const read = (rows: CostRow[]) => ({ rows, total: sumRows(rows) })

test('top keeps the first N rows and sums the rest into one (other) row equal to total minus them', () => {
  const all = [row('a', 5, 5), row('b', 3, 3), row('c', 1.5, 2), row('d', 0.25, 1)]
  // the store reads top + 1 rows and the total separately
  const out = shapeCost(
    { rows: all.slice(0, 3), total: sumRows(all) },
    { dims: ['customer'], top: 2, limit: 10 },
  )
  assert.deepEqual(
    out.rows.map((r) => [r.customer, r.cost_usd, r.requests, r.input_tokens]),
    [
      ['a', 5, 5, 50],
      ['b', 3, 3, 30],
      ['(other)', 1.75, 3, 30],
    ],
  )
  assert.deepEqual(sumRows(out.rows), out.total)
})

test('top with no more groups than N adds no (other) row', () => {
  const all = [row('a', 5), row('b', 3)]
  const out = shapeCost(read(all), { dims: ['customer'], top: 2, limit: 10 })
  assert.deepEqual(out.rows, all)
})

test('compare adds previous cost and the change; groups only in the previous period follow with zero', () => {
  const out = shapeCost(read([row('a', 6), row('b', 2)]), {
    dims: ['customer'],
    limit: 10,
    previous: read([row('a', 4), row('gone', 1)]),
  })
  assert.deepEqual(
    out.rows.map((r) => [r.customer, r.cost_usd, r.previous_cost_usd, r.delta_usd, r.delta_pct]),
    [
      ['a', 6, 4, 2, 50],
      ['b', 2, 0, 2, null],
      ['gone', 0, 1, -1, -100],
    ],
  )
  assert.deepEqual(
    [out.total.cost_usd, out.total.previous_cost_usd, out.total.delta_usd, out.total.delta_pct],
    [8, 5, 3, 60],
  )
})

test('compare with top: the (other) row compares the rest of both periods', () => {
  const cur = [row('a', 6), row('b', 2), row('c', 1)]
  const prev = [row('a', 4), row('c', 3), row('gone', 1)]
  const out = shapeCost(
    { rows: cur.slice(0, 2), total: sumRows(cur) },
    {
      dims: ['customer'],
      top: 1,
      limit: 10,
      previous: read(prev),
    },
  )
  assert.deepEqual(
    out.rows.map((r) => [r.customer, r.cost_usd, r.previous_cost_usd]),
    [
      ['a', 6, 4],
      ['(other)', 3, 4],
    ],
  )
  assert.equal(out.total.previous_cost_usd, 8)
})

test('rows are matched on every dimension of the group-by', () => {
  const a = { ...row('acme', 2), model: 'gpt-4o' }
  const b = { ...row('acme', 1), model: 'mini' }
  const out = shapeCost(read([a, b]), {
    dims: ['customer', 'model'],
    limit: 10,
    previous: read([{ ...row('acme', 4), model: 'mini' }]),
  })
  assert.deepEqual(
    out.rows.map((r) => [r.model, r.previous_cost_usd]),
    [
      ['gpt-4o', 0],
      ['mini', 4],
    ],
  )
})

test('delta_pct is rounded to two places; float noise in cost is rounded away', () => {
  const r = withComparison(row('a', 0.1 + 0.2), 0.3)
  assert.equal(r.delta_usd, 0)
  assert.equal(withComparison(row('a', 1), 3).delta_pct, -66.67)
})

test('columns: key brings its alias, compare adds three', () => {
  assert.deepEqual(costColumns(['key', 'day'], true), [
    'key',
    'key_alias',
    'day',
    'cost_usd',
    'requests',
    'failures',
    'input_tokens',
    'output_tokens',
    'cached_tokens',
    'previous_cost_usd',
    'delta_usd',
    'delta_pct',
  ])
})
