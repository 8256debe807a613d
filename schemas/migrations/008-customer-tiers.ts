import type { Migration } from './migration.js'
import { ROLLUP_DIMENSIONS, rollupSelect } from './003-spend-rollups.js'

const TIERED = `${ROLLUP_DIMENSIONS}, tier`

/**
 * The ORDER BY of a rollup with `tier` appended. A summing table sums rows with equal keys, so every
 * dimension it keeps MUST be in the key; ClickHouse lets a column join the key only in the ALTER that
 * adds it, without a default (running it again once the column exists is a no-op).
 */
function addTier(table: string, bucket: string): string {
  return `ALTER TABLE {{db}}.${table} ADD COLUMN IF NOT EXISTS tier String AFTER agent,
MODIFY ORDER BY (customer, ${bucket}, ${TIERED.replace('customer, ', '')})`
}

/**
 * Customer tiers (`pro`, `free`, ...): a `tier` column on raw requests and on both rollups (so tier
 * budgets read global sums from the per-minute rollup and the cost API can group by tier), and the
 * tiers set through the API (`customer_tiers`, latest row per customer wins, `deleted` = back to the
 * payload's tier) with their append-only audit (`customer_tier_events`).
 * The views are changed in place (MODIFY QUERY), never dropped: inserts keep feeding them throughout.
 */
export const m008: Migration = {
  version: 8,
  name: 'customer_tiers',
  statements: [
    `ALTER TABLE {{db}}.requests ADD COLUMN IF NOT EXISTS tier String DEFAULT '' AFTER agent`,
    addTier('spend_by_minute', 'minute'),
    addTier('spend_by_hour', 'hour'),
    `ALTER TABLE {{db}}.spend_by_minute_mv MODIFY QUERY\n${rollupSelect('minute', 'toStartOfMinute(ts)', TIERED)}`,
    `ALTER TABLE {{db}}.spend_by_hour_mv MODIFY QUERY\n${rollupSelect('hour', 'toStartOfHour(ts)', TIERED)}`,
    `CREATE TABLE IF NOT EXISTS {{db}}.customer_tiers
(
    customer    String,
    tier        String,
    deleted     Bool,
    updated_at  DateTime64(3, 'UTC'),
    updated_by  String,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY customer`,
    `CREATE TABLE IF NOT EXISTS {{db}}.customer_tier_events
(
    at          DateTime64(3, 'UTC'),
    customer    String,
    action      LowCardinality(String),
    actor       String,
    before      String,
    after       String
)
ENGINE = MergeTree
ORDER BY (customer, at)`,
  ],
}
