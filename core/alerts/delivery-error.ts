/** Stable code of a failed alert delivery (to fold into `ErrorCode` of core/errors.ts). */
export type AlertDeliveryCode = 'GW_ALERT_DELIVERY'

/**
 * A delivery attempt that did not land: `retryable` says whether the same notification may succeed later
 * (429, 5xx, SMTP 4xx, network, timeout) or not (other 4xx, SMTP 5xx, redirects). `status` is the HTTP
 * status or SMTP reply code when there was one. Message and cause are redacted: no secret inside.
 */
export class AlertDeliveryError extends Error {
  override readonly name = 'AlertDeliveryError'
  readonly code: AlertDeliveryCode = 'GW_ALERT_DELIVERY'
  constructor(
    message: string,
    readonly channel: string,
    readonly retryable: boolean,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** True when `err` is an AlertDeliveryError. */
export function isAlertDeliveryError(err: unknown): err is AlertDeliveryError {
  return err instanceof AlertDeliveryError
}
