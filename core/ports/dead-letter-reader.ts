/** One stored dead letter as the API lists it. */
export interface DeadLetterRow {
  received_at: string
  source: string
  origin: string
  /** The stable code (`GW_DL_*`); '' on rows stored before migration 009. */
  code: string
  reason: string
  raw: string
  raw_bytes: number
}

/**
 * Dead letters read back (implemented by `adapters/clickhouse/dead-letters-table.ts`).
 * MUST: newest first, at most `limit`, only `source` when given.
 */
export interface DeadLetterReader {
  list(limit: number, source?: string): Promise<DeadLetterRow[]>
}
