import type { RequestEvent } from '../../schemas/request-event.js'
import { hoursStretch } from './business-hours.js'
import { dedupeKey } from './dedupe-key.js'
import type { Finding } from './finding.js'
import { offHoursFinding } from './zombie-findings.js'
import type { AgentEntry, ZombieConfig, ZombieState } from './zombie.js'

/**
 * Zombie detector (a): an agent at work outside business hours: within one off-hours stretch (a night,
 * a weekend, in `business_hours.timezone`) `min_requests` requests, or `min_spend_usd` when above 0.
 * One alert per agent and stretch; it resolves when business hours start.
 */

export const offHoursKey = (agent: string): string => dedupeKey('zombie_agent', 'off_hours', agent)

/** Counts one agent event toward its off-hours stretch (nothing during business hours). */
export function countOffHours(
  state: ZombieState,
  e: RequestEvent,
  cfg: ZombieConfig,
  agent: string,
  a: AgentEntry,
  late: boolean,
): Finding[] {
  const stretch = hoursStretch(cfg.business_hours, e.ts)
  if (stretch.business) return []
  const findings: Finding[] = []
  const tz = cfg.business_hours.timezone
  if (!late && a.off && a.off.start !== stretch.start) {
    if (a.off.firedAt !== null) findings.push(...closeOffHours(state, agent, a, tz, a.off.end))
    a.off = null
  }
  const off =
    a.off ??
    (late
      ? null
      : (a.off = {
          start: stretch.start,
          end: stretch.end,
          requests: 0,
          spend: 0,
          first: e.ts,
          last: e.ts,
          firedAt: null,
        }))
  if (off && off.start === stretch.start) {
    off.requests++
    off.spend += e.cost_usd
    off.first = Math.min(off.first, e.ts)
    off.last = Math.max(off.last, e.ts)
    const over = off.requests >= cfg.min_requests || (cfg.min_spend_usd > 0 && off.spend >= cfg.min_spend_usd)
    if (!late && over && off.firedAt === null) {
      off.firedAt = e.ts
      state.open.add(offHoursKey(agent))
      findings.push(offHoursFinding(offHoursKey(agent), agent, off, a.gaps, tz, 'firing', e.ts))
    }
  }
  return findings
}

/** Ends the agent's off-hours alert at `at` (it MUST have one). */
export function closeOffHours(
  state: ZombieState,
  agent: string,
  a: AgentEntry,
  tz: string,
  at: number,
): Finding[] {
  const off = a.off!
  state.open.delete(offHoursKey(agent))
  const f = offHoursFinding(offHoursKey(agent), agent, off, a.gaps, tz, 'resolved', at)
  a.off = null
  return [f]
}

/** Resolves the agent's off-hours alert once its stretch is over (business hours began). */
export function tickOffHours(
  state: ZombieState,
  agent: string,
  a: AgentEntry,
  cfg: ZombieConfig,
  now: number,
): Finding[] {
  return a.off && now >= a.off.end
    ? closeOffHours(state, agent, a, cfg.business_hours.timezone, a.off.end)
    : []
}
