import type { ClickHouseClient } from '@clickhouse/client'
import type { RequestEvent } from '../../schemas/request-event.js'
import { insertSettings } from './settings.js'

/** Ids per lookup query: keeps query parameters well under the HTTP server's URI limit. */
const LOOKUP_CHUNK = 2_000

/** Inserts canonical events; `ts`/`end_ts` go as epoch ms, which DateTime64(3) reads exactly. */
export async function insertRequests(
  client: ClickHouseClient,
  database: string,
  rows: readonly RequestEvent[],
  token: string,
): Promise<void> {
  if (rows.length === 0) return
  await client.insert({
    table: `${database}.requests`,
    values: rows as RequestEvent[],
    format: 'JSONEachRow',
    clickhouse_settings: insertSettings(token),
  })
}

/** Which of `ids` already have a row with `ts` in [minTs, maxTs] (a duplicate carries its original ts). */
export async function existingEventIds(
  client: ClickHouseClient,
  database: string,
  ids: readonly string[],
  minTs: number,
  maxTs: number,
): Promise<Set<string>> {
  const found = new Set<string>()
  for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
    const rs = await client.query({
      query: `SELECT DISTINCT event_id FROM ${database}.requests
WHERE ts >= fromUnixTimestamp64Milli({min:Int64}, 'UTC') AND ts <= fromUnixTimestamp64Milli({max:Int64}, 'UTC')
  AND event_id IN {ids:Array(String)}`,
      query_params: { min: minTs, max: maxTs, ids: ids.slice(i, i + LOOKUP_CHUNK) },
      format: 'JSONEachRow',
    })
    for (const row of await rs.json<{ event_id: string }>()) found.add(row.event_id)
  }
  return found
}
