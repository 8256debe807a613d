import type { Migration } from './migration.js'
import { rollupSelect } from './003-spend-rollups.js'

/** The dimensions of the per-customer daily rollup (`tier` is one per customer in practice). */
export const CUSTOMER_DAY_DIMENSIONS = 'customer, tier'

/**
 * A per-customer daily spend rollup (`spend_by_customer_day`), for the queries the nine-dimension rollups
 * answer slowly: with key, agent and endpoint independent of the customer, `spend_by_hour` holds about as
 * many rows as raw `requests` (measured: 1.00M rollup rows for 1M events over 30 days, 10k customers),
 * while this one holds at most customers x days (300k for a month of 10k customers, whatever the mix).
 * The cost planner (core/cost-plan.ts) reads it for the whole days of a range when the query groups and
 * filters by customer, tier and day only; the hours and minutes at the edges come from the finer tables.
 *
 * Kept forever, like the hourly rollup. Filled by its view from the moment it exists; the history before
 * it is backfilled once from `spend_by_hour` (which has every dimension of this one), in the statement
 * between the table and the view: migrations run before any source starts, so no insert is in flight,
 * and the backfill only runs while the table is empty (every start runs every statement). migrate.ts runs
 * an `INSERT` statement with fresh insert settings and checks the sums after it.
 */
export const m011CustomerDayRollup: Migration = {
  version: 11,
  name: 'customer_day_rollup',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{db}}.spend_by_customer_day
(
    day             DateTime('UTC'),
    customer        String,
    tier            String,
    requests        UInt64,
    failures        UInt64,
    cache_hits      UInt64,
    input_tokens    UInt64,
    output_tokens   UInt64,
    cached_tokens   UInt64,
    cost_usd        Decimal(38, 10)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (customer, day, tier)
SETTINGS non_replicated_deduplication_window = 1000`,
    `INSERT INTO {{db}}.spend_by_customer_day
    (day, customer, tier, requests, failures, cache_hits, input_tokens, output_tokens, cached_tokens, cost_usd)
SELECT toStartOfDay(hour) AS day, customer, tier, sum(requests), sum(failures), sum(cache_hits),
    sum(input_tokens), sum(output_tokens), sum(cached_tokens), sum(cost_usd)
FROM {{db}}.spend_by_hour
WHERE (SELECT count() FROM {{db}}.spend_by_customer_day) = 0
  AND (SELECT count() FROM system.tables WHERE database = '{{db}}' AND name = 'spend_by_customer_day_mv') = 0
GROUP BY day, customer, tier`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.spend_by_customer_day_mv TO {{db}}.spend_by_customer_day AS
${rollupSelect('day', 'toStartOfDay(ts)', CUSTOMER_DAY_DIMENSIONS)}`,
  ],
  verify: `SELECT 'spend_by_customer_day sums differ from spend_by_hour after the backfill' AS problem
WHERE (SELECT (sum(requests), sum(failures), sum(cache_hits), sum(input_tokens), sum(output_tokens), sum(cached_tokens), sum(cost_usd)) FROM {{db}}.spend_by_customer_day)
   != (SELECT (sum(requests), sum(failures), sum(cache_hits), sum(input_tokens), sum(output_tokens), sum(cached_tokens), sum(cost_usd)) FROM {{db}}.spend_by_hour)`,
}
