/**
 * What one submission became, as every ingest path answers it (HTTP body, OTLP partial success, Kafka
 * metrics). MUST: `accepted + duplicates + rejected` = the items submitted (events and dead letters).
 */
export interface IngestOutcome {
  /** Events newly stored; redelivered ones are in `duplicates`, not here. */
  accepted: number
  /** Items dead-lettered: unreadable, not mappable, or outside the event-time window. */
  rejected: number
  /** Events whose `event_id` was already stored (or repeated in the batch): acknowledged, stored once. */
  duplicates: number
}

/** One OTLP export: the outcome, spans ignored (not LLM calls), and why some were rejected. */
export interface OtlpOutcome extends IngestOutcome {
  ignored: number
  /** '' when nothing was rejected; else the OTLP partial-success message. */
  error_message: string
}
