import type { RequestEvent } from '../../schemas/request-event.js'
import { coefficientOfVariation, median, pushGap } from './cadence.js'
import { dedupeKey } from './dedupe-key.js'
import type { Finding } from './finding.js'
import { sessionFinding, type SessionEntry } from './zombie-findings.js'
import type { ZombieConfig, ZombieState } from './zombie.js'

/**
 * Zombie detector (b): a session (or trace) alive `max_session` or more that still calls at a steady,
 * machine-like cadence: at least `MIN_SESSION_GAPS` gaps whose coefficient of variation is at most
 * `STEADY_CV`. It resolves once the session has been quiet for its idle limit.
 */

/** A session is steady when the coefficient of variation of its recent gaps is at most this. */
export const STEADY_CV = 0.5
/** Fewest gaps before a cadence is judged. */
export const MIN_SESSION_GAPS = 10
/** A session ends after this much silence at least (or 10 median gaps, at most `max_session`). */
export const SESSION_IDLE_MIN_MS = 15 * 60_000
/** Gaps kept per session and per agent (the recent cadence). */
export const GAP_RING = 64

export const sessionKey = (kind: 'session' | 'trace', id: string): string =>
  dedupeKey('zombie_agent', 'long_session', kind, id)

function idleLimit(s: SessionEntry, cfg: ZombieConfig): number {
  return Math.min(cfg.max_session, Math.max(SESSION_IDLE_MIN_MS, 10 * median(s.gaps)))
}

/** Whether a session silent for `silent` ms is over (the median is only computed when it could be). */
function isIdle(s: SessionEntry, cfg: ZombieConfig, silent: number): boolean {
  return silent >= Math.min(cfg.max_session, SESSION_IDLE_MIN_MS) && silent >= idleLimit(s, cfg)
}

/** Counts one agent event toward its session (session id, else trace id; none: nothing to judge). */
export function countSession(
  state: ZombieState,
  e: RequestEvent,
  cfg: ZombieConfig,
  agent: string,
  late: boolean,
): Finding[] {
  const kind = e.session_id !== '' ? 'session' : e.trace_id !== '' ? 'trace' : null
  if (!kind) return []
  const out: Finding[] = []
  const id = kind === 'session' ? e.session_id : e.trace_id
  const key = sessionKey(kind, id)
  let s = state.sessions.get(key)
  if (s) {
    state.sessions.delete(key)
    if (!late && isIdle(s, cfg, e.ts - s.last)) {
      if (s.firedAt !== null) out.push(sessionFinding(key, s, 'resolved', s.last + idleLimit(s, cfg)))
      state.open.delete(key)
      s = undefined
    }
  }
  s ??= { kind, id, agent, first: e.ts, last: e.ts, count: 0, spend: 0, gaps: [], firedAt: null }
  state.sessions.set(key, s)
  if (!late && s.count > 0) pushGap(s.gaps, e.ts - s.last, GAP_RING)
  s.count++
  s.spend += e.cost_usd
  s.first = Math.min(s.first, e.ts)
  s.last = Math.max(s.last, e.ts)
  const steady = s.gaps.length >= MIN_SESSION_GAPS && coefficientOfVariation(s.gaps) <= STEADY_CV
  if (!late && s.firedAt === null && s.last - s.first >= cfg.max_session && steady) {
    s.firedAt = e.ts
    state.open.add(key)
    out.push(sessionFinding(key, s, 'firing', e.ts))
  }
  return out
}

/** Resolves the open session alert `key` once its session has been quiet for its idle limit. */
export function tickSession(state: ZombieState, key: string, cfg: ZombieConfig, now: number): Finding[] {
  const s = state.sessions.get(key)
  if (!s) {
    state.open.delete(key)
    return []
  }
  if (!isIdle(s, cfg, now - s.last)) return []
  state.open.delete(key)
  state.sessions.delete(key)
  return [sessionFinding(key, s, 'resolved', s.last + idleLimit(s, cfg))]
}

/** Drops sessions that never fired and are over (least recently seen first: stops at the first live one). */
export function dropIdleSessions(state: ZombieState, cfg: ZombieConfig, now: number): void {
  for (const [key, s] of state.sessions) {
    if (s.firedAt !== null || !isIdle(s, cfg, now - s.last)) break
    state.sessions.delete(key)
  }
}

/** What evicting a session by the LRU cap ends: its alert, resolved now. */
export function evictedSession(state: ZombieState, key: string, s: SessionEntry): Finding[] {
  state.open.delete(key)
  return s.firedAt !== null ? [sessionFinding(key, s, 'resolved', state.clock)] : []
}
