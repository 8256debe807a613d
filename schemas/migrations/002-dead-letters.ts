import type { Migration } from './migration.js'

/** Input that could not be turned into a request event: raw text (truncated), where it came from, and why. */
export const m002: Migration = {
  version: 2,
  name: 'dead_letters',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{db}}.dead_letters
(
    received_at DateTime64(3, 'UTC'),
    source      LowCardinality(String),
    origin      String,
    reason      String,
    raw         String CODEC(ZSTD(3)),
    raw_bytes   UInt32,
    topic       String,
    partition   Int32,
    offset      Int64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (source, received_at)
TTL toDateTime(received_at) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000`,
  ],
}
