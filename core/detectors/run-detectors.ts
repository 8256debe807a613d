import type { RequestEvent } from '../../schemas/request-event.js'
import type { Finding } from './finding.js'
import { DetectorRunner, type DetectorPolicy, type RunnerOptions } from './runner.js'

/**
 * Runs every detector over an event iterator (a replay, the false-alert benchmark) and returns the
 * findings in emission order. `until` ticks on past the last event to let time resolve incidents.
 */
export function runDetectors(
  events: Iterable<RequestEvent>,
  policy: DetectorPolicy,
  opts: RunnerOptions & { until?: number } = {},
): Finding[] {
  const r = new DetectorRunner(policy, opts)
  const out: Finding[] = []
  for (const e of events) out.push(...r.push(e))
  out.push(...r.flush())
  if (opts.until !== undefined) out.push(...r.tickUntil(opts.until))
  return out
}

/** `runDetectors` for async sources (an NDJSON file, a store cursor). */
export async function runDetectorsAsync(
  events: AsyncIterable<RequestEvent>,
  policy: DetectorPolicy,
  opts: RunnerOptions & { until?: number } = {},
): Promise<Finding[]> {
  const r = new DetectorRunner(policy, opts)
  const out: Finding[] = []
  for await (const e of events) out.push(...r.push(e))
  out.push(...r.flush())
  if (opts.until !== undefined) out.push(...r.tickUntil(opts.until))
  return out
}
