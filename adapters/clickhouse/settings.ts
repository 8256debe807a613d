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
    // the rollup views of `requests` are pushed side by side, not one after another: each writes a part
    // of its own, and in sequence the three were most of a small insert's time; the engine trace of
    // `npm run bench -- --only http` shows an insert's time per batch (`store insert requests`)
    parallel_view_processing: 1,
    // the rollup views already group by their tables' sort keys: merging the block again on insert
    // (SummingMergeTree) is redundant work: engine CPU per 1,024-row insert into requests 100-108 ms
    // with it, ~94 ms without (chdb 3.4, 2 cores, a quiet machine). Readers sum and group anyway (parts
    // merge lazily); the ReplacingMergeTree tables are read with FINAL or argMax, and the writer drops
    // a batch's repeated event ids before the insert.
    optimize_on_insert: 0,
    input_format_defaults_for_omitted_fields: 1,
    async_insert: 0,
    // a replay of history spans many daily partitions in one batch
    max_partitions_per_insert_block: '1000',
    input_format_skip_unknown_fields: 0,
  }
}

/**
 * Settings for a rollup rebuild (`INSERT ... SELECT`, rollup-repair.ts), with a fresh token per rebuild.
 * Measured on chdb 3.4 (engine 26): a token left in the session by an earlier insert made a rebuild of an
 * hour already rebuilt once be dropped as a duplicate, and `insert_deduplicate: 0` did not stop it
 * (`deduplicate_insert` overrides it there, and is unknown to server 24.8). A token never used before is
 * a new block on every version. Every setting any insert of ours sets is stated, as chdb keeps them.
 */
export function rebuildSettings(token: string): ClickHouseSettings {
  return {
    insert_deduplicate: 1,
    insert_deduplication_token: token,
    deduplicate_blocks_in_dependent_materialized_views: 1,
    // stated because insertSettings sets it (chdb keeps settings); the rebuild's SELECT groups by the key
    optimize_on_insert: 0,
    async_insert: 0,
    // a rebuild of a backfill spans many daily (minute rollup) or monthly (hour rollup) partitions
    max_partitions_per_insert_block: '1000',
    // the SELECT side: a row cap would silently cut the rebuild
    max_rows_to_read: '0',
    max_result_rows: '0',
  }
}

/**
 * Settings for a `DELETE FROM` of rollup rows: return only once the rows are gone, so the rebuild that
 * follows and its re-check see the table without them. `lightweight_deletes_sync` (engine 24.4+) is
 * stated on the embedded engine, where settings leak across the session; a server takes it per query.
 */
export function deleteSettings(kind: 'embedded' | 'server'): ClickHouseSettings {
  return kind === 'embedded'
    ? { mutations_sync: '2', lightweight_deletes_sync: '2' }
    : { mutations_sync: '2' }
}
