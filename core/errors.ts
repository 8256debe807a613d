/** Stable error codes. A new failure mode gets a new code; messages may change, codes do not. */
export type ErrorCode =
  | 'GW_CONFIG_INVALID'
  | 'GW_STORE_UNAVAILABLE'
  | 'GW_STORE_QUERY'
  /** The store refused the rows themselves (a value its column cannot hold): retrying them cannot succeed. */
  | 'GW_STORE_REJECTED'
  | 'GW_BACKPRESSURE'
  | 'GW_SHUTTING_DOWN'
  | 'GW_BAD_REQUEST'
  | 'GW_NOT_FOUND'
  | 'GW_BODY_TOO_LARGE'
  | 'GW_UNSUPPORTED_MEDIA_TYPE'
  | 'GW_UNAUTHORIZED'
  | 'GW_ENFORCEMENT_OFF'
  | 'GW_RULE_INVALID'
  | 'GW_RULE_NOT_FOUND'
  | 'GW_BUDGET_READONLY'
  | 'GW_BUDGET_NOT_FOUND'
  /** The CLI could not reach a Gatewarden at its --url. */
  | 'GW_UNREACHABLE'
  /** The ingest topic's brokers did not take the events (ingest.via_kafka): retry later. */
  | 'GW_INGEST_TOPIC_UNAVAILABLE'
  /** An armed failpoint (GATEWARDEN_FAILPOINTS) injected this error; only in fault tests. */
  | 'GW_FAILPOINT'

/** An expected failure: a stable `code`, whether a retry may succeed, and the underlying `cause`. */
export class GatewardenError extends Error {
  override readonly name = 'GatewardenError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** True when `err` is a GatewardenError with `code`. */
export function isGatewardenError(err: unknown, code?: ErrorCode): err is GatewardenError {
  return err instanceof GatewardenError && (code === undefined || err.code === code)
}
