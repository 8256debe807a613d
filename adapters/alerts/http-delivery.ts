import type { Logger } from 'pino'
import type { Notification } from '../../core/alerts/alert.js'
import { delivered, type AlertSender, type DeliveryReceipt } from '../../core/alerts/sender.js'
import type { AttemptOutcome } from '../../core/retry.js'
import { AlertDeliveryError } from '../../core/alerts/delivery-error.js'
import { parseRetryAfter } from '../../core/alerts/retry-after.js'
import { redactError, type Redactor } from './redact.js'

/** What every HTTP sender needs besides its target. */
export interface HttpDeliveryOptions {
  /** Per attempt, connection to last body byte. */
  timeoutMs: number
  /** Injected for tests; Node's global fetch otherwise. */
  fetch?: typeof fetch
  /** Clock for `Retry-After` HTTP-dates and webhook timestamps. */
  now?: () => number
}

/** A 2xx answer. */
export interface HttpAnswer {
  status: number
  body: string
}

const EXCERPT = 300

/**
 * Classifies an HTTP status: 2xx success; 408, 429 and 5xx retryable (the server may take it later);
 * anything else (3xx, other 4xx) a failure: the same request would be refused again.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

/**
 * One POST with a timeout, classified. `label` names the target in messages (`slack "ops" at
 * https://hooks.slack.com`): never the full URL, whose path may be the secret. Redirects are not followed
 * (a signed body is not re-sent elsewhere). Response excerpts in errors are redacted.
 */
export async function postOnce(
  args: { channel: string; label: string; url: string; body: string; headers: Record<string, string> },
  opts: HttpDeliveryOptions,
  redact: Redactor,
): Promise<AttemptOutcome<HttpAnswer>> {
  const now = opts.now ?? Date.now
  const got = await fetchText(
    opts.fetch ?? fetch,
    args.url,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Gatewarden', ...args.headers },
      body: args.body,
    },
    opts.timeoutMs,
    redact,
  )
  if (!got.ok) {
    return {
      kind: 'retryable',
      error: new AlertDeliveryError(`${args.label}: POST ${got.why}`, args.channel, true, null, {
        cause: redactError(got.err, redact),
      }),
    }
  }
  const { res, text } = got
  if (res.status >= 200 && res.status < 300)
    return { kind: 'success', value: { status: res.status, body: text } }
  const excerpt = redact(text.replace(/\s+/g, ' ').trim().slice(0, EXCERPT))
  const message = `${args.label}: POST answered ${res.status}${excerpt ? `: ${excerpt}` : ''}`
  if (!isRetryableStatus(res.status)) {
    return { kind: 'failure', error: new AlertDeliveryError(message, args.channel, false, res.status) }
  }
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), now())
  const error = new AlertDeliveryError(message, args.channel, true, res.status)
  return retryAfterMs === undefined
    ? { kind: 'retryable', error }
    : { kind: 'retryable', error, retryAfterMs }
}

/**
 * One request with a timeout and redirects not followed (a signed body or a key never goes elsewhere):
 * the answer with its body text, or why there was none (`timed out after N ms`, `failed: <redacted cause>`).
 * Every HTTP sender and gateway target sends through it.
 */
export async function fetchText(
  doFetch: typeof fetch,
  url: string,
  init: Omit<RequestInit, 'redirect' | 'signal'>,
  timeoutMs: number,
  redact: Redactor,
): Promise<{ ok: true; res: Response; text: string } | { ok: false; why: string; err: unknown }> {
  try {
    const res = await doFetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
    return { ok: true, res, text: await res.text() }
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
    return {
      ok: false,
      why: timedOut ? `timed out after ${timeoutMs} ms` : `failed: ${describeFetchError(err, redact)}`,
      err,
    }
  }
}

/** `fetch failed (ECONNREFUSED)`: the message and the innermost code, redacted. */
function describeFetchError(err: unknown, redact: Redactor): string {
  if (!(err instanceof Error)) return 'unknown error'
  let code: unknown
  for (let e: unknown = err, i = 0; e instanceof Error && i < 4; e = e.cause, i++) {
    const c = (e as Error & { code?: unknown }).code
    if (typeof c === 'string') code = c
  }
  return redact(typeof code === 'string' ? `${err.message} (${code})` : err.message)
}

/** `https://hooks.slack.com`: where a URL points, without the path that may hold a token. */
export function origin(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return '(invalid URL)'
  }
}

/**
 * POSTs one notification body (`postOnce`) and, on 2xx, returns the receipt: the status and the
 * answer's first 200 characters, redacted. For senders with one request per notification.
 */
export async function postNotification(
  sender: Pick<AlertSender, 'channel' | 'type'>,
  n: Notification,
  request: { label: string; url: string; body: string; headers: Record<string, string> },
  opts: HttpDeliveryOptions,
  redact: Redactor,
  log: Logger,
): Promise<AttemptOutcome<DeliveryReceipt>> {
  const out = await postOnce({ channel: sender.channel, ...request }, opts, redact)
  if (out.kind !== 'success') return out
  log.debug({ channel: sender.channel, notification: n.id, status: out.value.status }, 'alert delivered')
  return delivered(sender, n, out.value.status, redact(out.value.body.slice(0, 200)))
}
