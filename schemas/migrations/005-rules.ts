import type { Migration } from './migration.js'

/**
 * Guardrail rules:
 * - `rules`: the current version of each rule (ReplacingMergeTree on `version`: every change is a new
 *   row, read with FINAL); `body` is the whole rule as JSON, the other columns are for filtering;
 * - `rule_events`: the append-only audit of every create, extension, push, failure, lift and expiry.
 */
export const m005: Migration = {
  version: 5,
  name: 'rules',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{db}}.rules
(
    id         String,
    scope_kind LowCardinality(String),
    scope_id   String,
    action     LowCardinality(String),
    mode       LowCardinality(String),
    state      LowCardinality(String),
    cause      String,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    expires_at DateTime64(3, 'UTC'),
    body       String,
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id`,
    `CREATE TABLE IF NOT EXISTS {{db}}.rule_events
(
    rule_id String,
    at      DateTime64(3, 'UTC'),
    seq     UInt64,
    kind    LowCardinality(String),
    actor   String,
    target  String,
    before  String,
    after   String,
    answer  String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (rule_id, at, seq)
SETTINGS non_replicated_deduplication_window = 1000`,
  ],
}
