import { randomUUID } from 'node:crypto'
import type { ClickHouseClient } from '@clickhouse/client'
import type { RuleFilter, RuleStore } from '../../core/ports/rule-store.js'
import type { RuleChange } from '../../core/rules/rule-transitions.js'
import { Rule, RuleEvent } from '../../schemas/rule.js'
import { insertSettings } from './settings.js'

/** Versions increase within a process even for changes in the same millisecond (later change wins). */
let seq = 0
const nextSeq = () => (seq = (seq + 1) % 1000)

/** Rules and their audit in ClickHouse (`rules` ReplacingMergeTree read with FINAL, `rule_events`). */
export function clickHouseRuleStore(client: ClickHouseClient, database: string): RuleStore {
  const parse = (rows: { body: string }[]) => rows.map((r) => Rule.parse(JSON.parse(r.body)))
  const select = async (where: string, params: Record<string, unknown>, limit = 100_000) => {
    const rs = await client.query({
      query: `SELECT body FROM ${database}.rules FINAL WHERE ${where} ORDER BY created_at DESC, id LIMIT {limit:UInt32}`,
      query_params: { ...params, limit },
      format: 'JSONEachRow',
    })
    return parse(await rs.json<{ body: string }>())
  }
  return {
    async write(changes: readonly RuleChange[]) {
      if (changes.length === 0) return
      const token = randomUUID()
      // the rule versions first (what the API and gateways read), then their audit rows
      await client.insert({
        table: `${database}.rules`,
        values: changes.map(({ rule: r }) => ({
          id: r.id,
          scope_kind: r.scope.kind,
          scope_id: r.scope.id,
          action: r.action.action,
          mode: r.mode,
          state: r.state,
          cause: r.reason.kind === 'alert' ? r.reason.dedupe_key : '',
          created_at: r.created_at,
          updated_at: r.updated_at,
          expires_at: r.expires_at,
          body: JSON.stringify(r),
          version: r.updated_at * 1000 + nextSeq(),
        })),
        format: 'JSONEachRow',
        clickhouse_settings: insertSettings(`${token}-rules`),
      })
      await client.insert({
        table: `${database}.rule_events`,
        values: changes.map(({ event: e }) => ({ ...e, seq: nextSeq() })),
        format: 'JSONEachRow',
        clickhouse_settings: insertSettings(`${token}-events`),
      })
    },
    load: (since) =>
      select(`state IN ('pending', 'active') OR updated_at >= fromUnixTimestamp64Milli({since:Int64})`, {
        since,
      }),
    async get(id) {
      return (await select('id = {id:String}', { id }, 1))[0]
    },
    list: (f: RuleFilter) =>
      select(
        `({in_force:UInt8} = 0 OR state IN ('pending', 'active'))
  AND ({kind:String} = '' OR scope_kind = {kind:String})
  AND ({sid:String} = '' OR scope_id = {sid:String})`,
        { in_force: f.state === 'in_force' ? 1 : 0, kind: f.scope_kind ?? '', sid: f.scope_id ?? '' },
        f.limit,
      ),
    async events(ruleId) {
      const rs = await client.query({
        query: `SELECT rule_id, toUnixTimestamp64Milli(at) AS at, kind, actor, target, before, after, answer
FROM ${database}.rule_events WHERE rule_id = {id:String} ORDER BY at, seq`,
        query_params: { id: ruleId },
        format: 'JSONEachRow',
      })
      const rows = await rs.json<Record<string, unknown>>()
      return rows.map((r) => RuleEvent.parse({ ...r, at: Number(r['at']) }))
    },
  }
}
