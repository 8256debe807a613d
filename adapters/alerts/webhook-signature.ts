import { createHmac, timingSafeEqual } from 'node:crypto'

/** Header carrying `sha256=<hex>`. */
export const SIGNATURE_HEADER = 'x-gatewarden-signature'
/** Header carrying the signing instant, Unix seconds. */
export const TIMESTAMP_HEADER = 'x-gatewarden-timestamp'
/** Default tolerance between the signing instant and the receiver's clock. */
export const DEFAULT_TOLERANCE_SEC = 300

/**
 * The signature of a webhook delivery: `sha256=` + hex HMAC-SHA256, keyed with the channel secret, of
 * `${timestamp}.${body}`, where `timestamp` is the `X-Gatewarden-Timestamp` header (Unix seconds) and
 * `body` the raw request bytes. Signing the timestamp stops a captured request from being replayed later.
 */
export function signWebhook(secret: string, timestamp: number | string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`
}

export type WebhookVerification =
  { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'mismatch' }

/**
 * For receivers: checks a delivery's signature against the RAW body (not re-serialised JSON) in constant
 * time, and rejects a timestamp more than `toleranceSec` away from `now` (epoch ms).
 */
export function verifyWebhookSignature(args: {
  secret: string
  body: string | Buffer
  signature: string | string[] | null | undefined
  timestamp: string | string[] | null | undefined
  now?: number
  toleranceSec?: number
}): WebhookVerification {
  const { secret, body, signature, timestamp } = args
  if (typeof signature !== 'string' || typeof timestamp !== 'string') return { ok: false, reason: 'missing' }
  if (!/^\d{1,12}$/.test(timestamp) || !/^sha256=[0-9a-f]{64}$/.test(signature))
    return { ok: false, reason: 'malformed' }
  const now = args.now ?? Date.now()
  if (Math.abs(now / 1000 - Number(timestamp)) > (args.toleranceSec ?? DEFAULT_TOLERANCE_SEC))
    return { ok: false, reason: 'expired' }
  const want = Buffer.from(signWebhook(secret, timestamp, body))
  const got = Buffer.from(signature)
  return want.length === got.length && timingSafeEqual(want, got)
    ? { ok: true }
    : { ok: false, reason: 'mismatch' }
}
