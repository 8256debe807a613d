import { GatewardenError } from '../../core/errors.js'

/**
 * ClickHouse error types that judge the data of the insert (a value the column type, an enum or a
 * constraint refuses), not the store's health: retrying the same rows can never succeed. Names are the
 * server's stable error type names (the `type` of a ClickHouseError; the numeric code beside each).
 */
const ROW_REJECTIONS: ReadonlySet<string> = new Set([
  'CANNOT_PARSE_TEXT', // 6
  'CANNOT_PARSE_ESCAPE_SEQUENCE', // 25: e.g. a lone UTF-16 surrogate in a string
  'CANNOT_PARSE_QUOTED_STRING', // 26
  'CANNOT_PARSE_INPUT_ASSERTION_FAILED', // 27
  'CANNOT_PARSE_DATE', // 38
  'CANNOT_PARSE_DATETIME', // 41
  'TYPE_MISMATCH', // 53
  'ARGUMENT_OUT_OF_BOUND', // 69: e.g. a Decimal value too big for its column
  'CANNOT_CONVERT_TYPE', // 70
  'CANNOT_PARSE_NUMBER', // 72
  'INCORRECT_DATA', // 117
  'CANNOT_READ_ARRAY_FROM_TEXT', // 130
  'TOO_LARGE_STRING_SIZE', // 131
  'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE', // 321
  'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN', // 349
  'DECIMAL_OVERFLOW', // 407
  'VIOLATED_CONSTRAINT', // 469
  'CANNOT_PARSE_BOOL', // 467
  'UNKNOWN_ELEMENT_OF_ENUM', // 691
])

/** Whether a store failure may pass on retry (`retryable`) or the store refused the rows themselves (`rejected`). */
export type StoreErrorClass = 'retryable' | 'rejected'

/**
 * Classifies an insert failure. Only known data errors are `rejected`; everything else (network, timeout,
 * TOO_MANY_PARTS, MEMORY_LIMIT_EXCEEDED, a missing table, an error never seen before) is `retryable`:
 * an unrecognised failure MUST NOT turn stored data into dead letters.
 */
export function classifyStoreError(err: unknown): StoreErrorClass {
  const type = (err as { type?: unknown } | null)?.type
  return typeof type === 'string' && ROW_REJECTIONS.has(type) ? 'rejected' : 'retryable'
}

/**
 * The insert failure as the writer sees it: a non-retryable GW_STORE_REJECTED carrying the store's own
 * message (its first line: the reason a dead letter records), or the original error, left retryable.
 */
export function storeInsertError(err: unknown): unknown {
  if (classifyStoreError(err) === 'retryable') return err
  const message = String((err as Error).message ?? err).split('\n')[0]!
  const type = (err as { type: string }).type
  return new GatewardenError('GW_STORE_REJECTED', `${type}: ${message}`, false, { cause: err })
}
