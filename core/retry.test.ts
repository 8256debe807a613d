import { test } from 'node:test'
import assert from 'node:assert/strict'
import { backoffDelay, withRetry, type AttemptOutcome, type RetryClock } from './retry.js'

function fakeClock(): RetryClock & { slept: number[] } {
  let t = 0
  const slept: number[] = []
  return { slept, now: () => t, sleep: async (ms) => void (slept.push(ms), (t += ms)), random: () => 0.5 }
}
const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, deadlineMs: 10_000 }

test('backoff grows, is capped and honours Retry-After', () => {
  assert.equal(backoffDelay(policy, 1, 1), 100)
  assert.equal(backoffDelay(policy, 2, 1), 200)
  assert.equal(backoffDelay(policy, 10, 1), 1000)
  assert.equal(backoffDelay(policy, 1, 0), 50, 'full jitter keeps at least half')
  assert.equal(backoffDelay(policy, 1, 0, 3000), 3000)
})

test('retries retryable failures, then succeeds', async () => {
  const clock = fakeClock()
  let n = 0
  const v = await withRetry(
    async (): Promise<AttemptOutcome<string>> =>
      ++n < 3 ? { kind: 'retryable', error: new Error('down') } : { kind: 'success', value: 'ok' },
    policy,
    clock,
  )
  assert.equal(v, 'ok')
  assert.equal(n, 3)
  assert.equal(clock.slept.length, 2)
})

test('a permanent failure is not retried', async () => {
  const clock = fakeClock()
  let n = 0
  await assert.rejects(
    withRetry(async () => (n++, { kind: 'failure', error: new Error('bad') }), policy, clock),
    /bad/,
  )
  assert.equal(n, 1)
})

test('gives up at maxAttempts and at the deadline', async () => {
  let n = 0
  await assert.rejects(
    withRetry(async () => (n++, { kind: 'retryable', error: new Error('x') }), policy, fakeClock()),
  )
  assert.equal(n, 5)
  n = 0
  await assert.rejects(
    withRetry(
      async () => (n++, { kind: 'retryable', error: new Error('x') }),
      { ...policy, maxAttempts: 99, deadlineMs: 500 },
      fakeClock(),
    ),
  )
  assert.ok(n >= 2 && n <= 4, `stopped by the deadline after ${n}`)
})
