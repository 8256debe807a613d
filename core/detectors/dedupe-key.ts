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
  return [type, ...parts.map((p) => encodeURIComponent(p))].join(':')
}

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
