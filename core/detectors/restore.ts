import type { DetectorType, Finding } from './finding.js'
import { parseDedupeKey } from './dedupe-key.js'

/**
 * After a silent replay of recent events (the engine's restart path), lines the detector's open incidents
 * up with the alerts the store has open:
 * - open in both: nothing (the incident goes on, later resolution works);
 * - open only in the replayed state: it fired but was never stored (crash in between): its firing finding;
 * - open only in the store: the replay shows it over: a resolved finding at `now`.
 * Only keys of `type` are looked at. Deterministic order (sorted keys).
 */
export function reconcileOpen(
  type: DetectorType,
  replayedOpen: ReadonlyMap<string, Finding>,
  storeOpen: ReadonlySet<string>,
  now: number,
  resolvedFromKey: (key: string, now: number) => Finding | null,
): Finding[] {
  const out: Finding[] = []
  for (const key of [...replayedOpen.keys()].sort()) {
    if (!storeOpen.has(key)) out.push(replayedOpen.get(key)!)
  }
  for (const key of [...storeOpen].sort()) {
    if (parseDedupeKey(key)?.type !== type || replayedOpen.has(key)) continue
    const f = resolvedFromKey(key, now)
    if (f) out.push(f)
  }
  return out
}

/** Sorts events by event time, then event_id: the one order every replay uses. */
export function byEventTime<T extends { ts: number; event_id: string }>(a: T, b: T): number {
  return a.ts - b.ts || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0)
}
