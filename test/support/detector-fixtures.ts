// Test helpers for the detector tests (fast event builder, parsed configs, a seeded PRNG).
// Not used by production code.
import { Budget, DetectorsConfig } from '../../schemas/policy.js'
import { eventDefaults, type RequestEvent } from '../../schemas/request-event.js'

let seq = 0

/** A canonical event without zod parsing (fast enough for 200k-event streams). */
export function ev(p: Partial<RequestEvent> & { ts: number }): RequestEvent {
  return {
    ...eventDefaults(),
    event_id: p.event_id ?? `e${++seq}`,
    end_ts: p.ts,
    duration_ms: 0,
    source: 'litellm_http',
    model: 'gpt-4o',
    http_status: 200,
    ...p,
  }
}

/** A budget through the real schema (defaults applied). */
export function budget(p: Record<string, unknown>): Budget {
  return Budget.parse({ name: 'b', limit_usd: 100, period: 'month', ...p })
}

/** Detector config through the real schema (durations parsed). */
export function detectors(p: Record<string, unknown> = {}): DetectorsConfig {
  return DetectorsConfig.parse(p)
}

/** Epoch ms of an ISO string (must carry its offset or Z). */
export function t(isoString: string): number {
  const ms = Date.parse(isoString)
  if (Number.isNaN(ms)) throw new Error(`bad instant ${isoString}`)
  return ms
}

export const MIN = 60_000
export const HOUR = 3_600_000
export const DAY = 86_400_000

export { prng } from './prng.js'
