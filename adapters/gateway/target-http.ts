import type { Logger } from 'pino'
import type { TargetOutcome } from '../../core/ports/gateway-target.js'
import { parseRetryAfter } from '../../core/alerts/retry-after.js'
import {
  DEFAULT_RETRY,
  systemClock,
  withRetry,
  type AttemptOutcome,
  type RetryClock,
  type RetryPolicy,
} from '../../core/retry.js'
import { fetchText, isRetryableStatus } from '../alerts/http-delivery.js'
import type { Redactor } from '../alerts/redact.js'

/** Stable codes of a push that did not land. */
export type GatewayTargetCode =
  /** Connection refused, reset, DNS, timeout: retryable. */
  | 'GW_TARGET_UNREACHABLE'
  /** The gateway answered a non-2xx status (retryable for 408, 429, 5xx). */
  | 'GW_TARGET_HTTP'
  /** The gateway answered 2xx with a body this target cannot read. */
  | 'GW_TARGET_BAD_ANSWER'
  /** The target cannot express this rule (`supports()` is false). */
  | 'GW_TARGET_UNSUPPORTED'

/** One failed push step. Message and answer are redacted: no secret inside. */
export class GatewayTargetError extends Error {
  override readonly name = 'GatewayTargetError'
  constructor(
    readonly code: GatewayTargetCode,
    message: string,
    readonly retryable: boolean,
    readonly status: number | null,
    readonly answer: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** What every HTTP target needs besides its URL. */
export interface TargetHttpOptions {
  /** Per attempt, connection to last body byte. */
  timeoutMs: number
  /** Per push step; the enforcer re-drives what still fails on its next tick. */
  retry?: RetryPolicy
  /** Injected for tests (a clock whose sleep resolves at once). */
  clock?: RetryClock
  fetch?: typeof fetch
}

/** A 2xx answer. */
export interface TargetAnswer {
  status: number
  body: string
}

/** The retry policy of one push step: the shared shape, shorter than an alert's (the enforcer re-drives). */
export const TARGET_RETRY: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: 5, deadlineMs: 15_000 }

const EXCERPT = 200

/** `status 503: <first 200 chars>`, whitespace folded, redacted. */
export function excerpt(status: number, body: string, redact: Redactor): string {
  const text = redact(body.replace(/\s+/g, ' ').trim().slice(0, EXCERPT))
  return text ? `${status}: ${text}` : String(status)
}

/**
 * One HTTP request with a timeout, classified: 2xx success; 408/429/5xx and network errors retryable;
 * other statuses a failure. Redirects are not followed (a signed body or a master key never goes
 * elsewhere). `label` names the target (`litellm-admin POST /key/update`), never a secret.
 */
export async function requestOnce(
  req: { method: 'GET' | 'POST'; url: string; label: string; headers: Record<string, string>; body?: string },
  opts: TargetHttpOptions,
  redact: Redactor,
): Promise<AttemptOutcome<TargetAnswer>> {
  const got = await fetchText(
    opts.fetch ?? fetch,
    req.url,
    {
      method: req.method,
      headers: {
        'user-agent': 'Gatewarden',
        ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...req.headers,
      },
      ...(req.body === undefined ? {} : { body: req.body }),
    },
    opts.timeoutMs,
    redact,
  )
  if (!got.ok) {
    return {
      kind: 'retryable',
      error: new GatewayTargetError('GW_TARGET_UNREACHABLE', `${req.label} ${got.why}`, true, null, got.why),
    }
  }
  const { res, text } = got
  if (res.status >= 200 && res.status < 300)
    return { kind: 'success', value: { status: res.status, body: text } }
  const answer = excerpt(res.status, text, redact)
  const retryable = isRetryableStatus(res.status)
  const error = new GatewayTargetError(
    'GW_TARGET_HTTP',
    `${req.label} answered ${answer}`,
    retryable,
    res.status,
    answer,
  )
  if (!retryable) return { kind: 'failure', error }
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), Date.now())
  return retryAfterMs === undefined
    ? { kind: 'retryable', error }
    : { kind: 'retryable', error, retryAfterMs }
}

/** `requestOnce` under the retry policy; throws the last GatewayTargetError when it gives up. */
export function requestWithRetry(
  req: Parameters<typeof requestOnce>[0],
  opts: TargetHttpOptions,
  redact: Redactor,
  log: Logger,
): Promise<TargetAnswer> {
  return withRetry(
    () => requestOnce(req, opts, redact),
    opts.retry ?? TARGET_RETRY,
    opts.clock ?? systemClock,
    ({ attempt, delayMs, error }) =>
      log.debug({ attempt, delay_ms: delayMs, err: errorFields(error) }, 'gateway push retrying'),
  )
}

/** Runs a push and turns what it threw into a `TargetOutcome`; a non-target error is a bug and rethrown. */
export async function toOutcome(run: () => Promise<string>): Promise<TargetOutcome> {
  try {
    return { ok: true, answer: await run() }
  } catch (err) {
    if (!(err instanceof GatewayTargetError)) throw err
    return { ok: false, retryable: err.retryable, code: err.code, message: err.message, answer: err.answer }
  }
}

/** Log fields of an error, redacted by construction (GatewayTargetError messages are). */
export function errorFields(err: unknown): Record<string, unknown> {
  return err instanceof GatewayTargetError
    ? { code: err.code, status: err.status, message: err.message }
    : { message: err instanceof Error ? err.name : 'non-error' }
}
