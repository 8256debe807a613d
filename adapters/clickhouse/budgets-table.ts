import type { ClickHouseClient } from '@clickhouse/client'
import type { BudgetEvent, BudgetStore } from '../../core/ports/budget-store.js'
import { Budget } from '../../schemas/policy.js'
import { writeAudited } from './audited-write.js'

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
  const write = (name: string, body: string, deleted: boolean, e: BudgetEvent) =>
    writeAudited(
      client,
      {
        table: `${database}.budgets`,
        row: { name, body, deleted, updated_at: e.at, updated_by: e.actor },
        at: e.at,
      },
      { table: `${database}.budget_events`, row: e },
    )
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
