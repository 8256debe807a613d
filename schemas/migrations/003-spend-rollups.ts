import type { Migration } from './migration.js'

/** Days the per-minute rollup keeps rows; older ranges are answered from the hourly rollup or raw rows. */
export const MINUTE_ROLLUP_TTL_DAYS = 35

/** The dimensions the rollups were first keyed by (migration 008 appends `tier`). */
export const ROLLUP_DIMENSIONS =
  'customer, team, api_key_hash, api_key_alias, endpoint, agent, model_requested, model, provider'
const DIMENSIONS = ROLLUP_DIMENSIONS

/** The SELECT a rollup view runs over `{{db}}.requests`, grouped by `dimensions`. */
export function rollupSelect(bucket: string, bucketExpr: string, dimensions: string): string {
  return `SELECT
    ${bucketExpr} AS ${bucket},
    ${dimensions},
    count() AS requests,
    countIf(status = 'failure') AS failures,
    countIf(cache_hit) AS cache_hits,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cached_tokens) AS cached_tokens,
    sum(cost_usd) AS cost_usd
FROM {{db}}.requests
GROUP BY ${bucket}, ${dimensions}`
}

function rollup(name: string, bucket: string, bucketExpr: string, partition: string, ttl: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS {{db}}.${name}
(
    ${bucket}       DateTime('UTC'),
    customer        String,
    team            String,
    api_key_hash    String,
    api_key_alias   String,
    endpoint        String,
    agent           String,
    model_requested LowCardinality(String),
    model           LowCardinality(String),
    provider        LowCardinality(String),
    requests        UInt64,
    failures        UInt64,
    cache_hits      UInt64,
    input_tokens    UInt64,
    output_tokens   UInt64,
    cached_tokens   UInt64,
    cost_usd        Decimal(38, 10)
)
ENGINE = SummingMergeTree
PARTITION BY ${partition}
ORDER BY (customer, ${bucket}, ${DIMENSIONS.replace('customer, ', '')})${ttl}
SETTINGS non_replicated_deduplication_window = 1000`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.${name}_mv TO {{db}}.${name} AS
${rollupSelect(bucket, bucketExpr, DIMENSIONS)}`,
  ]
}

/**
 * Spend rollups per minute and per hour over every attribution dimension (customer, team, key, endpoint,
 * agent, model, provider), so any group-by of the cost API reads a rollup instead of raw rows.
 * Summing tables: readers MUST still sum() and GROUP BY (parts merge lazily). The hourly rollup is kept
 * forever (it is the long-term cost record); raw rows follow `store.retention_days`.
 */
export const m003: Migration = {
  version: 3,
  name: 'spend_rollups',
  statements: [
    ...rollup(
      'spend_by_minute',
      'minute',
      'toStartOfMinute(ts)',
      'toYYYYMMDD(minute)',
      `
TTL minute + INTERVAL ${MINUTE_ROLLUP_TTL_DAYS} DAY`,
    ),
    ...rollup('spend_by_hour', 'hour', 'toStartOfHour(ts)', 'toYYYYMM(hour)', ''),
  ],
}
