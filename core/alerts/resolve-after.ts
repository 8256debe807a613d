import type { DetectorsConfig } from '../../schemas/policy.js'
import type { DetectorType } from '../detectors/finding.js'

/** Hold of a detector whose config has no `resolve_after` (a new detector gets hysteresis for free). */
export const DEFAULT_RESOLVE_AFTER = 5 * 60_000

/** Config sections named apart from their detector type. */
const SECTION: Partial<Record<DetectorType, string>> = { zombie_agent: 'zombie' }

/** `detectors.<name>.resolve_after` (ms) by detector type, `DEFAULT_RESOLVE_AFTER` when not set. */
export function resolveAfterOf(detectors: DetectorsConfig): (type: DetectorType) => number {
  const sections = detectors as unknown as Record<string, { resolve_after?: unknown } | undefined>
  return (type) => {
    const v = sections[SECTION[type] ?? type]?.resolve_after
    return typeof v === 'number' ? v : DEFAULT_RESOLVE_AFTER
  }
}
