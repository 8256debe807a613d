/**
 * A numbered schema migration. Each statement MUST be idempotent (IF NOT EXISTS), so a run that
 * died half-way is simply run again. `{{db}}` is replaced by the configured database name.
 */
export interface Migration {
  version: number
  name: string
  statements: readonly string[]
}
