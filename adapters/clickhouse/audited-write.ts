import { randomUUID } from 'node:crypto'
import type { ClickHouseClient } from '@clickhouse/client'
import { insertSettings } from './settings.js'

let seq = 0

/**
 * Writes the new state of one object (a row of a `ReplacingMergeTree(version)` table, read with FINAL)
 * and then its audit row, each under its own fresh dedup token. `version` = `at` in ms * 1000 + a
 * counter, so two writes in the same millisecond still replace in the order they were made.
 * Resolves once both are durable.
 */
export async function writeAudited(
  client: ClickHouseClient,
  state: { table: string; row: Record<string, unknown>; at: number },
  audit: { table: string; row: object },
): Promise<void> {
  const token = randomUUID()
  seq = (seq + 1) % 1000
  await client.insert({
    table: state.table,
    values: [{ ...state.row, version: state.at * 1000 + seq }],
    format: 'JSONEachRow',
    clickhouse_settings: insertSettings(`${token}-s`),
  })
  await client.insert({
    table: audit.table,
    values: [audit.row],
    format: 'JSONEachRow',
    clickhouse_settings: insertSettings(`${token}-e`),
  })
}
