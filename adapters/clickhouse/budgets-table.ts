import { randomUUID } from 'node:crypto'
import type { ClickHouseClient } from '@clickhouse/client'
import type { BudgetEvent, BudgetStore } from '../../core/ports/budget-store.js'
import { Budget } from '../../schemas/policy.js'
import { insertSettings } from './settings.js'

let seq = 0

/** Runtime budgets in ClickHouse (`budgets` read with FINAL, `budget_events`). */
export function clickHouseBudgetStore(client: ClickHouseClient, database: string): BudgetStore {
  const current = async (name?: string) => {
    const rs = await client.query({
      query: `SELECT name, body, deleted FROM ${database}.budgets FINAL
WHERE {name:String} = '' OR name = {name:String} ORDER BY name`,
      query_params: { name: name ?? '' },
      format: 'JSONEachRow',
    })
    return rs.json<{ name: string; body: string; deleted: boolean | number }>()
  }
  const write = async (name: string, body: string, deleted: boolean, e: BudgetEvent) => {
    const token = randomUUID()
    seq = (seq + 1) % 1000
    await client.insert({
      table: `${database}.budgets`,
      values: [{ name, body, deleted, updated_at: e.at, updated_by: e.actor, version: e.at * 1000 + seq }],
      format: 'JSONEachRow',
      clickhouse_settings: insertSettings(`${token}-b`),
    })
    await client.insert({
      table: `${database}.budget_events`,
      values: [e],
      format: 'JSONEachRow',
      clickhouse_settings: insertSettings(`${token}-e`),
    })
  }
  return {
    async list() {
      return (await current()).filter((r) => !r.deleted).map((r) => Budget.parse(JSON.parse(r.body)))
    },
    async put(budget, actor, now) {
      const [before] = (await current(budget.name)).filter((r) => !r.deleted)
      const after = JSON.stringify(budget)
      const e: BudgetEvent = {
        name: budget.name,
        at: now,
        kind: before ? 'updated' : 'created',
        actor,
        before: before?.body ?? '',
        after,
      }
      await write(budget.name, after, false, e)
      return e
    },
    async remove(name, actor, now) {
      const [before] = (await current(name)).filter((r) => !r.deleted)
      if (!before) return undefined
      const e: BudgetEvent = { name, at: now, kind: 'deleted', actor, before: before.body, after: '' }
      await write(name, before.body, true, e)
      return e
    },
    async events(name) {
      const rs = await client.query({
        query: `SELECT name, toUnixTimestamp64Milli(at) AS at, kind, actor, before, after
FROM ${database}.budget_events WHERE name = {name:String} ORDER BY at`,
        query_params: { name },
        format: 'JSONEachRow',
      })
      return (await rs.json<BudgetEvent & { at: string | number }>()).map((r) => ({ ...r, at: Number(r.at) }))
    },
  }
}
