import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { GatewardenError } from '../../core/errors.js'
import { MIGRATIONS, type Migration } from '../../schemas/migrations/index.js'
import type { StoreClient } from './client.js'
import { rebuildSettings } from './settings.js'

/** Replaces `{{db}}` with the database name. */
export function renderSql(sql: string, database: string): string {
  return sql.replaceAll('{{db}}', database)
}

/**
 * Creates the database and runs every migration. Statements are idempotent, so all of them run at each
 * start (a half-applied migration heals); `schema_migrations` records what ran, for people and tools.
 */
export async function migrate(
  store: StoreClient,
  log: Logger,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<void> {
  const { client, database } = store
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` })
  for (const m of migrations) {
    let backfilled = false
    for (const sql of m.statements) {
      const query = renderSql(sql, database)
      if (!/^INSERT INTO /.test(sql)) {
        await client.command({ query })
        continue
      }
      const target = /^INSERT INTO (\S+)/.exec(query)![1]!
      const before = await countRows(store, target)
      await client.command({
        query,
        clickhouse_settings: rebuildSettings(`migration-${m.version}-${randomUUID()}`),
      })
      const after = await countRows(store, target)
      if (after > before) {
        backfilled = true
        log.info({ version: m.version, table: target, rows: after - before }, 'store backfilled')
      }
    }
    if (backfilled && m.verify) {
      const rs = await client.query({ query: renderSql(m.verify, database), format: 'JSONEachRow' })
      const problems = await rs.json<{ problem: string }>()
      if (problems.length > 0)
        throw new GatewardenError(
          'GW_STORE_QUERY',
          `migration ${m.version} (${m.name}) backfill check failed: ${problems.map((p) => p.problem).join('; ')}`,
          false,
        )
    }
    await client.insert({
      table: `${database}.schema_migrations`,
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
      // Settings persist per session on chdb: state each one we rely on (README "Store").
      clickhouse_settings: { insert_deduplication_token: `migration-${m.version}`, insert_deduplicate: 1 },
    })
  }
  log.info({ database, migrations: migrations.length, kind: store.kind }, 'store migrated')
}

async function countRows(store: StoreClient, table: string): Promise<number> {
  const rs = await store.client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
  const [row] = await rs.json<{ n: string | number }>()
  return Number(row?.n ?? 0)
}

/**
 * Applies `retention_days` as the TTL of raw `requests` (0 removes it). Only alters when the TTL differs,
 * because MODIFY TTL rewrites parts.
 */
export async function applyRetention(store: StoreClient, days: number, log: Logger): Promise<void> {
  const { client, database } = store
  const rs = await client.query({
    query:
      'SELECT create_table_query AS q FROM system.tables WHERE database = {db:String} AND name = {t:String}',
    query_params: { db: database, t: 'requests' },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ q: string }>()
  const current = /TTL toDateTime\(ts\) \+ toIntervalDay\((\d+)\)/.exec(row?.q ?? '')?.[1]
  const want = days === 0 ? undefined : String(days)
  if (current === want) return
  const query =
    days === 0
      ? `ALTER TABLE ${database}.requests REMOVE TTL`
      : `ALTER TABLE ${database}.requests MODIFY TTL toDateTime(ts) + INTERVAL ${days} DAY`
  await client.command({ query })
  log.info({ from: current ?? 'none', to: want ?? 'none' }, 'requests retention changed')
}
