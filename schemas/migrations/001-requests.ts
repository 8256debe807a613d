import type { Migration } from './migration.js'

/**
 * Raw request events. Partitioned by day; ordered for per-customer scans, with skip indexes for
 * key, fingerprint and event_id lookups (the writer checks event_id before insert, see README "Exactly once").
 * non_replicated_deduplication_window lets a retried insert of the same batch (same token) be dropped.
 */
export const m001: Migration = {
  version: 1,
  name: 'requests',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{db}}.schema_migrations
(
    version    UInt32,
    name       String,
    applied_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree
ORDER BY version`,
    `CREATE TABLE IF NOT EXISTS {{db}}.requests
(
    event_id        String,
    ts              DateTime64(3, 'UTC'),
    end_ts          DateTime64(3, 'UTC'),
    duration_ms     UInt32,
    ttft_ms         Nullable(UInt32),
    source          LowCardinality(String),
    gateway         LowCardinality(String),
    customer        String,
    team            String,
    team_alias      String,
    user            String,
    api_key_hash    String,
    api_key_alias   String,
    endpoint        String,
    agent           String,
    trace_id        String,
    session_id      String,
    provider        LowCardinality(String),
    call_type       LowCardinality(String),
    model_requested LowCardinality(String),
    model           LowCardinality(String),
    input_tokens    UInt32,
    output_tokens   UInt32,
    cached_tokens   UInt32,
    cost_usd        Decimal(18, 10),
    cache_hit       Bool,
    status          Enum8('success' = 1, 'failure' = 2),
    error_type      LowCardinality(String),
    http_status     UInt16,
    fingerprint     String,
    tags            Array(String),
    metadata        Map(String, String),
    request_text    String CODEC(ZSTD(3)),
    response_text   String CODEC(ZSTD(3)),
    received_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_api_key api_key_hash TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_fingerprint fingerprint TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toDate(ts)
ORDER BY (customer, ts, event_id)
SETTINGS non_replicated_deduplication_window = 1000`,
  ],
}
