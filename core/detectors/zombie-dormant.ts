import { dedupeKey } from './dedupe-key.js'
import type { Finding } from './finding.js'
import { dormantFinding } from './zombie-findings.js'
import type { AgentEntry, ZombieConfig, ZombieState } from './zombie.js'

/**
 * Zombie detector (c): an agent silent for `dormant_after` or more that comes back (a forgotten job, a
 * leaked key). A notice: it resolves `DORMANT_ALERT_MS` after the return.
 */

/** A dormant-return alert resolves this long after the return (it is a notice, not a condition). */
export const DORMANT_ALERT_MS = 3_600_000

export const dormantKey = (agent: string): string => dedupeKey('zombie_agent', 'dormant_return', agent)

/** The agent's first event after `silent` ms of silence, at `ts`: fires when that was long enough. */
export function noteReturn(
  state: ZombieState,
  agent: string,
  a: AgentEntry,
  silent: number,
  ts: number,
  cfg: ZombieConfig,
): Finding | null {
  if (silent < cfg.dormant_after || a.dormant) return null
  a.dormant = { lastSeen: a.lastSeen, back: ts }
  state.open.add(dormantKey(agent))
  return dormantFinding(dormantKey(agent), agent, a.lastSeen, ts, 'firing', ts)
}

/** Ends the agent's dormant-return notice at `at` (it MUST have one). */
export function closeDormant(state: ZombieState, agent: string, a: AgentEntry, at: number): Finding[] {
  const d = a.dormant!
  state.open.delete(dormantKey(agent))
  a.dormant = null
  return [dormantFinding(dormantKey(agent), agent, d.lastSeen, d.back, 'resolved', at)]
}

/** Resolves the notice `DORMANT_ALERT_MS` after the return. */
export function tickDormant(state: ZombieState, agent: string, a: AgentEntry, now: number): Finding[] {
  return a.dormant && now >= a.dormant.back + DORMANT_ALERT_MS
    ? closeDormant(state, agent, a, a.dormant.back + DORMANT_ALERT_MS)
    : []
}
