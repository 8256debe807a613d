import type { Migration } from './migration.js'

/**
 * A min-max skip index on `requests.received_at`, so the start-up rollup check
 * (`adapters/clickhouse/rollup-repair.ts`) reads only the granules received in its window, not the whole
 * column. Parts written before it have no index and are read in full until they merge.
 */
export const m007: Migration = {
  version: 7,
  name: 'received_at_index',
  statements: [
    `ALTER TABLE {{db}}.requests ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1`,
  ],
}
