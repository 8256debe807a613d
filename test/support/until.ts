/**
 * Polls `probe` until it returns a value (not undefined), then returns it. Fails with `what` after
 * `timeoutMs`: a bound for a broken run, never a timing the test relies on.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`, {
        cause: last,
      })
    await new Promise((r) => setTimeout(r, 50))
  }
}
