import type { Logger } from 'pino'
import type { Lifecycle, NamedPart } from '../core/lifecycle.js'

/** Resolves with `work` or after `timeoutMs`, whichever comes first (true when `work` finished in time). */
export async function within(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  if (!Number.isFinite(timeoutMs)) {
    await work
    return true
  }
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs))
  })
  try {
    return await Promise.race([work.then(() => true as const), timedOut])
  } finally {
    clearTimeout(timer)
  }
}

/** A part with nothing to start or flush, stopped by `stop` (bounded by `shutdown`'s timeout). */
export function stopOnlyPart(stop: () => Promise<void>): Lifecycle {
  let stopping: Promise<void> | undefined
  return {
    start: () => Promise.resolve(),
    flush: () => Promise.resolve(),
    shutdown: (timeoutMs) => (stopping ??= within(stop(), timeoutMs).then(() => undefined)),
  }
}

/**
 * Shuts `parts` down in REVERSE order (the last started first), all within `timeoutMs` overall: each
 * part gets what is left of the deadline; one that fails or overruns is logged and the next one still
 * stops. Returns the names of the parts that did not stop cleanly.
 */
export async function stopAll(
  parts: readonly NamedPart[],
  timeoutMs: number,
  log: Logger,
  now: () => number = Date.now,
): Promise<string[]> {
  const deadline = now() + timeoutMs
  const unclean: string[] = []
  for (const { name, part } of [...parts].reverse()) {
    const left = Math.max(0, deadline - now())
    try {
      const done = await within(part.shutdown(left), left + 100)
      if (!done) {
        unclean.push(name)
        log.warn({ part: name, timeoutMs: left }, 'part did not stop in time')
      }
    } catch (err) {
      unclean.push(name)
      log.error({ err, part: name }, 'part failed to stop')
    }
  }
  return unclean
}

/**
 * Starts `parts` in order; when one fails, shuts down EVERY part (reverse order, within `timeoutMs`:
 * those started, the one that failed half-way, and those never started, which may hold what their
 * construction opened, e.g. mail transports) and rethrows: a failed start leaves nothing open.
 */
export async function startAll(
  parts: readonly NamedPart[],
  timeoutMs: number,
  log: Logger,
): Promise<NamedPart[]> {
  for (const p of parts) {
    try {
      await p.part.start()
    } catch (err) {
      log.error({ err, part: p.name }, 'part failed to start, stopping every part')
      await stopAll(parts, timeoutMs, log)
      throw err
    }
  }
  return [...parts]
}
