import type { Migration } from './migration.js'

/**
 * Budgets made at runtime (`PUT /api/budgets/:name`), beside the configured ones:
 * - `budgets`: the current version of each (ReplacingMergeTree on `version`; a delete is a row with
 *   `deleted`), `body` the budget as JSON;
 * - `budget_events`: the append-only audit of every create, change and delete.
 */
export const m006: Migration = {
  version: 6,
  name: 'budgets',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{db}}.budgets
(
    name       String,
    body       String,
    deleted    Bool,
    updated_at DateTime64(3, 'UTC'),
    updated_by String,
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY name`,
    `CREATE TABLE IF NOT EXISTS {{db}}.budget_events
(
    name   String,
    at     DateTime64(3, 'UTC'),
    kind   LowCardinality(String),
    actor  String,
    before String,
    after  String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (name, at)`,
  ],
}
