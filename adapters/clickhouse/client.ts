import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createClient, type ClickHouseClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import type { StoreConfig } from '../../schemas/config.js'
import { embeddedLanes, type StatementInfo } from './store-lanes.js'

/** A store connection: the client, the database every statement names, and which engine it is. */
export interface StoreClient {
  /** Store work: ingest, detectors, outbox, migrations. */
  client: ClickHouseClient
  /**
   * Analyst reads (cost API, CLI): on the embedded engine a lane that yields to store work and is
   * bounded in time (store-lanes.ts); on a server, `client` itself. Absent: use `client`.
   */
  reads?: ClickHouseClient
  database: string
  kind: 'embedded' | 'server'
  /** Where the data lives, for logs: the data directory, or the server URL without credentials. */
  location: string
  /**
   * Embedded only: where inserts stage their RowBinary files for the engine to read (requests-table.ts),
   * inside the data directory. Emptied when the store opens (a crash can leave a file behind).
   */
  scratchDir?: string
}

/** The staging directory of the embedded engine's inserts, emptied. */
function scratchDirOf(dataDir: string): string {
  const dir = join(dataDir, 'gatewarden-inserts')
  mkdirSync(dir, { recursive: true })
  for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true })
  return dir
}

/**
 * The embedded engine (chdb, one data directory per process) unless `clickhouse_url` names a server.
 * The same SQL runs on both. `observe.statement` sees each statement the embedded engine ran (its lane,
 * label, wait and run time: where a single session's time goes); a server runs statements side by side
 * and reports its own in `system.query_log`. chdb/connection ignores the client's `database` option, so every statement
 * names `database.table` itself.
 */
export function createStoreClient(
  cfg: StoreConfig,
  observe: { statement?: (info: StatementInfo) => void } = {},
): StoreClient {
  if (cfg.clickhouse_url) {
    const url = new URL(cfg.clickhouse_url)
    const client = createClient({
      url: cfg.clickhouse_url,
      username: cfg.clickhouse_user,
      password: cfg.clickhouse_password,
      request_timeout: cfg.request_timeout_ms,
      application: 'gatewarden',
    })
    url.username = ''
    url.password = ''
    return { client, reads: client, database: cfg.database, kind: 'server', location: url.toString() }
  }
  const dir = resolve(cfg.data_dir)
  mkdirSync(dir, { recursive: true })
  // chdb bundles its own copy of @clickhouse/client-common's types; the runtime contract is the same
  const connection = createChdbConnection({ path: dir }) as unknown as NonNullable<
    Parameters<typeof createClient>[0]
  >['connection']
  const lanes = embeddedLanes(createClient({ connection }), observe.statement)
  return {
    client: lanes.store,
    reads: lanes.read,
    database: cfg.database,
    kind: 'embedded',
    location: dir,
    ...(cfg.insert_format === 'auto' ? { scratchDir: scratchDirOf(dir) } : {}),
  }
}
