import type { ErrorCode } from '../../core/errors.js'

/** HTTP status of each expected failure code (one table for the error handler and the OTLP route); others 500. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  GW_BAD_REQUEST: 400,
  GW_UNAUTHORIZED: 401,
  GW_NOT_FOUND: 404,
  GW_BODY_TOO_LARGE: 413,
  GW_UNSUPPORTED_MEDIA_TYPE: 415,
  GW_BACKPRESSURE: 503,
  GW_STORE_UNAVAILABLE: 503,
  GW_SHUTTING_DOWN: 503,
  GW_INGEST_TOPIC_UNAVAILABLE: 503,
  GW_RULE_INVALID: 400,
  GW_RULE_NOT_FOUND: 404,
  GW_ENFORCEMENT_OFF: 404,
  GW_BUDGET_READONLY: 409,
  GW_BUDGET_NOT_FOUND: 404,
}

/** The status an error code answers with. */
export function httpStatus(code: ErrorCode): number {
  return STATUS[code] ?? 500
}
