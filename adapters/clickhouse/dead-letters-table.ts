import type { ClickHouseClient } from '@clickhouse/client'
import type { DeadLetter } from '../../schemas/dead-letter.js'
import type { DeadLetterReader, DeadLetterRow } from '../../core/ports/dead-letter-reader.js'
import type { StoreClient } from './client.js'
import { insertSettings } from './settings.js'

/** Inserts dead letters. */
export async function insertDeadLetters(
  client: ClickHouseClient,
  database: string,
  rows: readonly DeadLetter[],
  token: string,
): Promise<void> {
  if (rows.length === 0) return
  await client.insert({
    table: `${database}.dead_letters`,
    values: rows,
    format: 'JSONEachRow',
    clickhouse_settings: insertSettings(token),
  })
}

export type { DeadLetterRow }

/** The DeadLetterReader port on ClickHouse, an analyst read: through `store.reads` (store-lanes.ts). */
export function clickHouseDeadLetterReader(store: StoreClient): DeadLetterReader {
  const client = store.reads ?? store.client
  return { list: (limit, source) => listDeadLetters(client, store.database, limit, source) }
}

/** Newest dead letters first. */
export async function listDeadLetters(
  client: ClickHouseClient,
  database: string,
  limit: number,
  source?: string,
): Promise<DeadLetterRow[]> {
  const rs = await client.query({
    query: `SELECT toString(received_at) AS received_at, source, origin, code, reason, raw, raw_bytes
FROM ${database}.dead_letters
WHERE {source:String} = '' OR source = {source:String}
ORDER BY received_at DESC LIMIT {limit:UInt32}`,
    query_params: { source: source ?? '', limit },
    format: 'JSONEachRow',
  })
  return rs.json<DeadLetterRow>()
}
