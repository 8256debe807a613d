import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { StoreConfig } from '../../schemas/config.js'
import { createStoreClient, type StoreClient } from '../../adapters/clickhouse/client.js'
import { migrate } from '../../adapters/clickhouse/migrate.js'

/** A logger that writes nothing (tests assert on outcomes, not log lines). */
export const silentLog = pino({ level: 'silent' })

let dataDir: string | undefined
let counter = 0

/**
 * The process's temp data directory for the embedded engine: one per test process (chdb binds one
 * directory per process), shared by every store this file opens.
 */
export function testDataDir(): string {
  dataDir ??= mkdtempSync(join(tmpdir(), 'gw-test-'))
  return dataDir
}

/** A fresh, migrated database on the embedded engine (or CLICKHOUSE_URL when set). */
export async function freshStore(name = 'test'): Promise<StoreClient> {
  const database = `${name}_${process.pid}_${++counter}`
  const store = createStoreClient(
    StoreConfig.parse({
      data_dir: testDataDir(),
      database,
      clickhouse_url: process.env.CLICKHOUSE_URL || undefined,
    }),
  )
  await migrate(store, silentLog)
  return store
}

/** Runs a query and returns its rows, 64-bit numbers as JS numbers. */
export async function rows<T = Record<string, unknown>>(store: StoreClient, query: string): Promise<T[]> {
  const rs = await store.client.query({
    query: query.replaceAll('{{db}}', store.database),
    format: 'JSONEachRow',
  })
  return rs.json<T>()
}
