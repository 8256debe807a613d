/** Outcome of one attempt as the retry policy sees it. */
export type AttemptOutcome<T> =
  | { kind: 'success'; value: T }
  | { kind: 'failure'; error: unknown }
  | { kind: 'retryable'; error: unknown; retryAfterMs?: number }

/** Bounded attempts with jittered exponential backoff, a deadline, and `Retry-After` honoured. */
export interface RetryPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  /** Total time budget from the first attempt; no attempt starts after it. */
  deadlineMs: number
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  deadlineMs: 30_000,
}

/** Injected time, so tests drive the policy without waiting. */
export interface RetryClock {
  now(): number
  sleep(ms: number): Promise<void>
  random(): number
}

/** Delay before attempt `attempt + 1` (attempt counts from 1): full jitter, capped; `Retry-After` wins when larger. */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: number,
  retryAfterMs?: number,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  const jittered = Math.round(exp / 2 + (exp / 2) * random)
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, policy.maxDelayMs * 4))
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the policy is spent.
 * Throws the last error when it gives up; `onRetry` sees each retry before its wait.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<AttemptOutcome<T>>,
  policy: RetryPolicy,
  clock: RetryClock,
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void,
): Promise<T> {
  const started = clock.now()
  for (let n = 1; ; n++) {
    const out = await attempt(n)
    if (out.kind === 'success') return out.value
    if (out.kind === 'failure') throw out.error
    const delayMs = backoffDelay(policy, n, clock.random(), out.retryAfterMs)
    if (n >= policy.maxAttempts || clock.now() + delayMs - started > policy.deadlineMs) throw out.error
    onRetry?.({ attempt: n, delayMs, error: out.error })
    await clock.sleep(delayMs)
  }
}

/** The real clock. */
export const systemClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
}
