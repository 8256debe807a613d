import type { Migration } from './migration.js'

/**
 * Alerting state, all append-only:
 * - `alerts`: every state change of every alert (current state = the row with the latest updated_at);
 * - `alert_silences`: matchers with an expiry (ReplacingMergeTree on version: an edit or delete is a new row);
 * - `alert_notifications`: the outbox, one row per message to a channel, written before any send;
 * - `alert_deliveries`: each attempt's outcome. A notification with no final delivery is still pending,
 *   so a channel that is down delays a message, and a restart resumes it;
 * - `detector_heartbeats`: each engine's tick, for electing the one instance that judges budgets.
 */
export const m004: Migration = {
  version: 4,
  name: 'alerts',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{db}}.alerts
(
    id          String,
    dedupe_key  String,
    type        LowCardinality(String),
    severity    LowCardinality(String),
    state       Enum8('firing' = 1, 'resolved' = 2),
    scope_kind  LowCardinality(String),
    scope_id    String,
    started_at  DateTime64(3, 'UTC'),
    resolved_at Nullable(DateTime64(3, 'UTC')),
    updated_at  DateTime64(3, 'UTC'),
    summary     String,
    details     String,
    links       String,
    silenced    Bool,
    instance    String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (dedupe_key, started_at, id, updated_at)
SETTINGS non_replicated_deduplication_window = 1000`,
    `CREATE TABLE IF NOT EXISTS {{db}}.alert_silences
(
    id         String,
    matcher    String,
    comment    String,
    created_by String,
    created_at DateTime64(3, 'UTC'),
    expires_at DateTime64(3, 'UTC'),
    deleted    Bool,
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id`,
    `CREATE TABLE IF NOT EXISTS {{db}}.alert_notifications
(
    id         String,
    channel    String,
    kind       LowCardinality(String),
    alert_ids  Array(String),
    body       String,
    created_at DateTime64(3, 'UTC'),
    not_before DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(created_at)
ORDER BY (created_at, id)
TTL toDateTime(created_at) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000`,
    `CREATE TABLE IF NOT EXISTS {{db}}.detector_heartbeats
(
    instance String,
    at       DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (at, instance)
TTL toDateTime(at) + INTERVAL 1 DAY`,
    `CREATE TABLE IF NOT EXISTS {{db}}.alert_deliveries
(
    notification_id String,
    channel         String,
    attempt         UInt32,
    outcome         Enum8('success' = 1, 'retry' = 2, 'failure' = 3),
    detail          String,
    at              DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (notification_id, at)
TTL toDateTime(at) + INTERVAL 90 DAY`,
  ],
}
