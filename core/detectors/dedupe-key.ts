import type { DetectorType } from './finding.js'

const DETECTOR_TYPES: readonly DetectorType[] = [
  'burn_rate',
  'budget_exhaustion',
  'loop',
  'zombie_agent',
  'spend_anomaly',
]

/**
 * Dedupe keys are `type:part:part...` with every part URI-encoded, so a part may hold any text
 * (scope ids with `:`) and a key can be parsed back after a restart (the engine passes open keys).
 */
export function dedupeKey(type: DetectorType, ...parts: readonly string[]): string {
  let key: string = type
  for (const p of parts) key += `:${UNRESERVED.test(p) ? p : encodeURIComponent(p)}`
  return key
}

/** What `encodeURIComponent` leaves as it is: a part made only of these is its own encoding (the hot path). */
const UNRESERVED = /^[\w.!~*'()-]*$/

/** Inverse of `dedupeKey`; null when the key is not one of ours. */
export function parseDedupeKey(key: string): { type: DetectorType; parts: string[] } | null {
  const [type, ...rest] = key.split(':')
  if (!DETECTOR_TYPES.includes(type as DetectorType)) return null
  try {
    return { type: type as DetectorType, parts: rest.map((p) => decodeURIComponent(p)) }
  } catch {
    return null
  }
}
