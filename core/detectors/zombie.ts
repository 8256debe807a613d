import type { DetectorsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { hoursStretch, type HoursStretch } from './business-hours.js'
import { coefficientOfVariation, median, pushGap } from './cadence.js'
import { dedupeKey, parseDedupeKey } from './dedupe-key.js'
import type { Finding, Scope, Step } from './finding.js'
import { evictOver } from './lru.js'
import { byEventTime, reconcileOpen } from './restore.js'
import {
  dormantFinding,
  offHoursFinding,
  sessionFinding,
  type OffHours,
  type SessionEntry,
} from './zombie-findings.js'

export type ZombieConfig = DetectorsConfig['zombie']

export interface ZombieLimits {
  /** Most agents remembered (last seen, off-hours counters); LRU beyond (default 10 000). */
  maxAgents?: number
  /** Most sessions/traces tracked; LRU beyond, idle ones dropped on ticks (default 50 000). */
  maxSessions?: number
}

/** A session is steady when the coefficient of variation of its recent gaps is at most this. */
export const STEADY_CV = 0.5
/** Fewest gaps before a cadence is judged. */
export const MIN_SESSION_GAPS = 10
/** Gaps kept per session and per agent (the recent cadence). */
export const GAP_RING = 64
/** A session ends after this much silence at least (or 10 median gaps, at most `max_session`). */
export const SESSION_IDLE_MIN_MS = 15 * 60_000
/** A dormant-return alert resolves this long after the return (it is a notice, not a condition). */
export const DORMANT_ALERT_MS = 3_600_000

export interface AgentEntry {
  lastSeen: number
  gaps: number[]
  off: OffHours | null
  dormant: { lastSeen: number; back: number } | null
}

/** Zombie detector state. Owned: steps update it in place and return it; callers MUST use the returned state. */
export interface ZombieState {
  clock: number
  /** By agent identity, least recently seen first. */
  agents: Map<string, AgentEntry>
  /** By dedupe key, least recently seen first. */
  sessions: Map<string, SessionEntry>
  /** Last business/off-hours stretch looked up (most events fall in it). */
  calendar: HoursStretch | null
  open: Set<string>
  evicted: number
}

export interface ZombieStateJSON {
  clock: number
  agents: Array<[string, AgentEntry]>
  sessions: Array<[string, SessionEntry]>
  calendar: HoursStretch | null
  open: string[]
  evicted: number
}

export function initZombieState(): ZombieState {
  return { clock: -1, agents: new Map(), sessions: new Map(), calendar: null, open: new Set(), evicted: 0 }
}

export function zombieStateToJSON(s: ZombieState): ZombieStateJSON {
  return { ...s, agents: [...s.agents], sessions: [...s.sessions], open: [...s.open] }
}

export function zombieStateFromJSON(j: ZombieStateJSON): ZombieState {
  return { ...j, agents: new Map(j.agents), sessions: new Map(j.sessions), open: new Set(j.open) }
}

const keySets = new WeakMap<readonly string[], Set<string>>()

/**
 * Who the agent is: the event's `agent` (the mappers fill it from the configured field, OTel
 * `gen_ai.agent.*`, headers), else `key:<hash or alias>` for a key listed in `agent_keys`; '' for
 * customer-facing traffic, which is never judged by business hours (customers live in every time zone).
 */
export function agentIdentity(e: RequestEvent, cfg: ZombieConfig): string {
  if (e.agent !== '') return e.agent
  if (cfg.agent_keys.length === 0) return ''
  let keys = keySets.get(cfg.agent_keys)
  if (!keys) keySets.set(cfg.agent_keys, (keys = new Set(cfg.agent_keys)))
  if (e.api_key_hash !== '' && keys.has(e.api_key_hash)) return `key:${e.api_key_hash}`
  if (e.api_key_alias !== '' && keys.has(e.api_key_alias)) return `key:${e.api_key_alias}`
  return ''
}

export const offHoursKey = (agent: string): string => dedupeKey('zombie_agent', 'off_hours', agent)
export const dormantKey = (agent: string): string => dedupeKey('zombie_agent', 'dormant_return', agent)
export const sessionKey = (kind: 'session' | 'trace', id: string): string =>
  dedupeKey('zombie_agent', 'long_session', kind, id)

function idleLimit(s: SessionEntry, cfg: ZombieConfig): number {
  return Math.min(cfg.max_session, Math.max(SESSION_IDLE_MIN_MS, 10 * median(s.gaps)))
}

/** Whether a session silent for `silent` ms is over (the median is only computed when it could be). */
function isIdle(s: SessionEntry, cfg: ZombieConfig, silent: number): boolean {
  return silent >= Math.min(cfg.max_session, SESSION_IDLE_MIN_MS) && silent >= idleLimit(s, cfg)
}

function stretchAt(state: ZombieState, cfg: ZombieConfig, ts: number): HoursStretch {
  const c = state.calendar
  if (c && ts >= c.start && ts < c.end) return c
  return (state.calendar = hoursStretch(cfg.business_hours, ts))
}

/**
 * Counts one agent event (event-time order; `now` = `max(clock, event.ts)`) toward (a) off-hours work
 * (per agent and off-hours stretch: `min_requests` requests or `min_spend_usd`, when above 0),
 * (b) long steady sessions (session id, else trace id, alive `max_session` or more with at least
 * `MIN_SESSION_GAPS` gaps whose CV is at most `STEADY_CV`) and (c) dormant returns (silent
 * `dormant_after` or more). Late events are counted but never fire.
 */
export function stepZombie(
  state: ZombieState,
  e: RequestEvent,
  cfg: ZombieConfig,
  now: number,
  limits: ZombieLimits = {},
): Step<ZombieState> {
  const findings: Finding[] = []
  if (!cfg.enabled) return { state, findings }
  const agent = agentIdentity(e, cfg)
  if (agent === '') return { state, findings }
  const late = e.ts < state.clock
  state.clock = Math.max(state.clock, now, e.ts)
  const tz = cfg.business_hours.timezone

  let a = state.agents.get(agent)
  if (a) state.agents.delete(agent)
  state.agents.set(agent, (a ??= { lastSeen: e.ts, gaps: [], off: null, dormant: null }))
  if (!late && e.ts > a.lastSeen) {
    const silent = e.ts - a.lastSeen
    if (silent >= cfg.dormant_after && !a.dormant) {
      a.dormant = { lastSeen: a.lastSeen, back: e.ts }
      state.open.add(dormantKey(agent))
      findings.push(dormantFinding(dormantKey(agent), agent, a.lastSeen, e.ts, 'firing', e.ts))
    } else pushGap(a.gaps, silent, GAP_RING)
    a.lastSeen = e.ts
  }

  const stretch = stretchAt(state, cfg, e.ts)
  if (!stretch.business) {
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
      const over =
        off.requests >= cfg.min_requests || (cfg.min_spend_usd > 0 && off.spend >= cfg.min_spend_usd)
      if (!late && over && off.firedAt === null) {
        off.firedAt = e.ts
        state.open.add(offHoursKey(agent))
        findings.push(offHoursFinding(offHoursKey(agent), agent, off, a.gaps, tz, 'firing', e.ts))
      }
    }
  }

  const kind = e.session_id !== '' ? 'session' : e.trace_id !== '' ? 'trace' : null
  if (kind) findings.push(...countSession(state, e, cfg, agent, kind, late))

  state.evicted += evictOver(state.agents, limits.maxAgents ?? 10_000, (id, old) => {
    if (old.off?.firedAt != null) findings.push(...closeOffHours(state, id, old, tz, state.clock))
    if (old.dormant) findings.push(...closeDormant(state, id, old, state.clock))
  })
  state.evicted += evictOver(state.sessions, limits.maxSessions ?? 50_000, (key, s) => {
    if (s.firedAt !== null) findings.push(sessionFinding(key, s, 'resolved', state.clock))
    state.open.delete(key)
  })
  return { state, findings }
}

function countSession(
  state: ZombieState,
  e: RequestEvent,
  cfg: ZombieConfig,
  agent: string,
  kind: 'session' | 'trace',
  late: boolean,
): Finding[] {
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

function closeOffHours(state: ZombieState, agent: string, a: AgentEntry, tz: string, at: number): Finding[] {
  const off = a.off!
  state.open.delete(offHoursKey(agent))
  const f = offHoursFinding(offHoursKey(agent), agent, off, a.gaps, tz, 'resolved', at)
  a.off = null
  return [f]
}

function closeDormant(state: ZombieState, agent: string, a: AgentEntry, at: number): Finding[] {
  const d = a.dormant!
  state.open.delete(dormantKey(agent))
  a.dormant = null
  return [dormantFinding(dormantKey(agent), agent, d.lastSeen, d.back, 'resolved', at)]
}

/**
 * Resolves what time alone ends: off-hours alerts when business hours start, dormant-return notices
 * `DORMANT_ALERT_MS` after the return, sessions quiet for their idle limit; drops idle sessions.
 */
export function tickZombie(state: ZombieState, cfg: ZombieConfig, now: number): Step<ZombieState> {
  const findings: Finding[] = []
  state.clock = Math.max(state.clock, now)
  const tz = cfg.business_hours.timezone
  if (state.open.size > 0)
    for (const key of [...state.open].sort()) {
      const k = parseDedupeKey(key)
      const which = k?.parts[0]
      if (which === 'off_hours' || which === 'dormant_return') {
        const agent = k!.parts[1]!
        const a = state.agents.get(agent)
        if (which === 'off_hours' && a?.off && now >= a.off.end)
          findings.push(...closeOffHours(state, agent, a, tz, a.off.end))
        else if (which === 'dormant_return' && a?.dormant && now >= a.dormant.back + DORMANT_ALERT_MS) {
          findings.push(...closeDormant(state, agent, a, a.dormant.back + DORMANT_ALERT_MS))
        } else if (!a) state.open.delete(key)
      } else if (which === 'long_session') {
        const s = state.sessions.get(key)
        if (!s) state.open.delete(key)
        else if (isIdle(s, cfg, now - s.last)) {
          findings.push(sessionFinding(key, s, 'resolved', s.last + idleLimit(s, cfg)))
          state.open.delete(key)
          state.sessions.delete(key)
        }
      }
    }
  for (const [key, s] of state.sessions) {
    if (s.firedAt !== null || !isIdle(s, cfg, now - s.last)) break
    state.sessions.delete(key)
  }
  return { state, findings }
}

/** Open zombie alert keys. */
export function openZombieKeys(state: ZombieState): string[] {
  return [...state.open]
}

/**
 * How far back the engine must read agent events to rebuild the state at `now`: the start of the
 * current off-hours stretch (a weekend: up to ~3 days), two `max_session`s, and the dormant notice span,
 * whichever is earliest. Dormancy needs more history than that: pass each agent's last-seen time before
 * that instant as `lastSeen` (one GROUP BY agent query).
 */
export function zombieReplaySince(cfg: ZombieConfig, now: number): number {
  const s = hoursStretch(cfg.business_hours, now)
  return Math.min(s.business ? now : s.start, now - 2 * cfg.max_session, now - DORMANT_ALERT_MS)
}

/**
 * Rebuilds the state after a restart: seeds each agent's last-seen time, replays recent agent events
 * (from `zombieReplaySince`) silently, then reconciles with the alerts the store has open (`open`), as
 * `rebuildLoopState` does: no re-firing of resolved incidents, open ones continue and resolve later.
 */
export function rebuildZombieState(
  events: Iterable<RequestEvent>,
  cfg: ZombieConfig,
  opts: {
    open: ReadonlySet<string>
    now: number
    lastSeen?: Iterable<[string, number]>
    limits?: ZombieLimits
  },
): Step<ZombieState> {
  let state = initZombieState()
  for (const [agent, ts] of opts.lastSeen ?? [])
    state.agents.set(agent, { lastSeen: ts, gaps: [], off: null, dormant: null })
  const firing = new Map<string, Finding>()
  for (const e of [...events].sort(byEventTime)) {
    const step = stepZombie(state, e, cfg, Math.max(state.clock, e.ts), opts.limits)
    state = step.state
    for (const f of step.findings) if (f.state === 'firing') firing.set(f.dedupe_key, f)
  }
  state = tickZombie(state, cfg, opts.now).state
  const replayed = new Map<string, Finding>()
  for (const k of state.open) {
    const f = firing.get(k)
    if (f) replayed.set(k, f)
  }
  const findings = reconcileOpen('zombie_agent', replayed, opts.open, opts.now, (key, at) => {
    const k = parseDedupeKey(key)
    if (!k) return null
    const [which, a, b] = k.parts
    const scope: Scope =
      which === 'long_session' && (a === 'session' || a === 'trace')
        ? { kind: a, id: b ?? '' }
        : { kind: 'agent' as const, id: a ?? '' }
    return {
      type: 'zombie_agent',
      dedupe_key: key,
      state: 'resolved',
      severity: 'ticket',
      scope,
      at,
      summary: `${which ?? 'zombie'} on ${scope.kind} ${scope.id} over (seen at restart)`,
      details: { which: which ?? null, reason: 'over at restart' },
    }
  })
  return { state, findings }
}
