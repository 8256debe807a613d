import type { ClickHouseSettings } from '@clickhouse/client'

/**
 * Settings for every insert. chdb/connection turns `clickhouse_settings` into session-wide SET statements
 * that outlive the query (a stale deduplication token silently dropped the next insert), so every insert
 * states each setting it relies on, every time.
 */
export function insertSettings(token: string): ClickHouseSettings {
  return {
    insert_deduplicate: 1,
    insert_deduplication_token: token,
    // without it a retried block is dropped from `requests` but counted again by the rollup views
    deduplicate_blocks_in_dependent_materialized_views: 1,
    input_format_defaults_for_omitted_fields: 1,
    async_insert: 0,
    // a replay of history spans many daily partitions in one batch
    max_partitions_per_insert_block: '1000',
    input_format_skip_unknown_fields: 0,
  }
}
