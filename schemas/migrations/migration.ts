/**
 * A numbered schema migration. Each statement MUST be idempotent (IF NOT EXISTS), so a run that
 * died half-way is simply run again. `{{db}}` is replaced by the configured database name.
 * A statement starting with `INSERT INTO` is a backfill: it runs with fresh insert settings (a token
 * never used before, adapters/clickhouse/settings.ts) and MUST insert nothing when run again.
 */
export interface Migration {
  version: number
  name: string
  statements: readonly string[]
  /**
   * Run after the statements when a backfill inserted rows: a query answering one row per problem
   * (`problem String`); any row fails the migration (a backfill that lost rows is not left silent).
   */
  verify?: string
}
