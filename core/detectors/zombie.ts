import type { DetectorsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { hoursStretch } from './business-hours.js'
import { pushGap } from './cadence.js'
import { parseDedupeKey } from './dedupe-key.js'
import type { Finding, Scope, Step } from './finding.js'
import { evictOver } from './lru.js'
import { byEventTime, reconcileOpen } from './restore.js'
import { closeDormant, DORMANT_ALERT_MS, noteReturn, tickDormant } from './zombie-dormant.js'
import type { OffHours, SessionEntry } from './zombie-findings.js'
import {
  countSession,
  dropIdleSessions,
  evictedSession,
  GAP_RING,
  sessionKey,
  tickSession,
} from './zombie-long-session.js'
import { closeOffHours, countOffHours, offHoursKey, tickOffHours } from './zombie-off-hours.js'

/**
 * The zombie-agent detector: three detectors over one per-agent state, each in its own file, sharing
 * who the agent is (`agentIdentity`), its last-seen time and cadence, and the LRU bounds:
 * (a) off-hours work (`zombie-off-hours.ts`), (b) long steady sessions (`zombie-long-session.ts`),
 * (c) dormant returns (`zombie-dormant.ts`). Their alerts share the type `zombie_agent` and the
 * `zombie.action` rule.
 */

export { DORMANT_ALERT_MS, dormantKey } from './zombie-dormant.js'
export { offHoursKey } from './zombie-off-hours.js'
export {
  GAP_RING,
  MIN_SESSION_GAPS,
  SESSION_IDLE_MIN_MS,
  sessionKey,
  STEADY_CV,
} from './zombie-long-session.js'

export type ZombieConfig = DetectorsConfig['zombie']

export interface ZombieLimits {
  /** Most agents remembered (last seen, off-hours counters); LRU beyond (default 10 000). */
  maxAgents?: number
  /** Most sessions/traces tracked; LRU beyond, idle ones dropped on ticks (default 50 000). */
  maxSessions?: number
}

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
  open: Set<string>
  evicted: number
}

export interface ZombieStateJSON {
  clock: number
  agents: Array<[string, AgentEntry]>
  sessions: Array<[string, SessionEntry]>
  open: string[]
  evicted: number
}

export function initZombieState(): ZombieState {
  return { clock: -1, agents: new Map(), sessions: new Map(), open: new Set(), evicted: 0 }
}

export function zombieStateToJSON(s: ZombieState): ZombieStateJSON {
  return { ...s, agents: [...s.agents], sessions: [...s.sessions], open: [...s.open] }
}

export function zombieStateFromJSON(j: ZombieStateJSON): ZombieState {
  // field by field: a snapshot written before the stretch cache went carries a `calendar`, not kept
  return {
    clock: j.clock,
    agents: new Map(j.agents),
    sessions: new Map(j.sessions),
    open: new Set(j.open),
    evicted: j.evicted,
  }
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
    const back = noteReturn(state, agent, a, silent, e.ts, cfg)
    if (back) findings.push(back)
    else pushGap(a.gaps, silent, GAP_RING)
    a.lastSeen = e.ts
  }
  findings.push(...countOffHours(state, e, cfg, agent, a, late))
  findings.push(...countSession(state, e, cfg, agent, late))

  state.evicted += evictOver(state.agents, limits.maxAgents ?? 10_000, (id, old) => {
    if (old.off?.firedAt != null) findings.push(...closeOffHours(state, id, old, tz, state.clock))
    if (old.dormant) findings.push(...closeDormant(state, id, old, state.clock))
  })
  state.evicted += evictOver(state.sessions, limits.maxSessions ?? 50_000, (key, s) => {
    findings.push(...evictedSession(state, key, s))
  })
  return { state, findings }
}

/**
 * Resolves what time alone ends: off-hours alerts when business hours start, dormant-return notices
 * `DORMANT_ALERT_MS` after the return, sessions quiet for their idle limit; drops idle sessions.
 */
export function tickZombie(state: ZombieState, cfg: ZombieConfig, now: number): Step<ZombieState> {
  const findings: Finding[] = []
  state.clock = Math.max(state.clock, now)
  if (state.open.size > 0)
    for (const key of [...state.open].sort()) {
      const k = parseDedupeKey(key)
      const which = k?.parts[0]
      if (which === 'off_hours' || which === 'dormant_return') {
        const agent = k!.parts[1]!
        const a = state.agents.get(agent)
        if (!a) state.open.delete(key)
        else if (which === 'off_hours') findings.push(...tickOffHours(state, agent, a, cfg, now))
        else findings.push(...tickDormant(state, agent, a, now))
      } else if (which === 'long_session') findings.push(...tickSession(state, key, cfg, now))
    }
  dropIdleSessions(state, cfg, now)
  return { state, findings }
}

function sessionKeyOf(e: RequestEvent): string | null {
  if (e.session_id !== '') return sessionKey('session', e.session_id)
  if (e.trace_id !== '') return sessionKey('trace', e.trace_id)
  return null
}

/**
 * Fire on arrival: the firings `stepZombie` will make for `agent` once `pending` (the agent's events not
 * yet delivered, sorted by event time) are delivered after what `state` has seen, computed on copies of
 * the agent's entry and its sessions (the state is not touched); keys already open are left out. Cheap
 * gates first: nothing is simulated unless an off-hours event, a session reaching `max_session` or a
 * return after `dormant_after` is among them. Off-hours counts only grow, so such a firing stands when
 * later events come; a session's cadence can change with a late event (the runner resolves an
 * announced firing the ordered evaluation did not confirm).
 */
export function previewZombie(
  state: ZombieState,
  agent: string,
  arriving: RequestEvent,
  waiting: () => readonly RequestEvent[],
  cfg: ZombieConfig,
): Finding[] {
  if (!cfg.enabled) return []
  // the gates look at the arriving event only (O(1) per event: an agent's waiting list can hold all of a
  // busy agent's last seconds); an earlier waiting event passed its own gates when it arrived
  const a = state.agents.get(agent)
  let possible = false
  if (!hoursStretch(cfg.business_hours, arriving.ts).business && !state.open.has(offHoursKey(agent)))
    possible = true
  if (!possible && a && !a.dormant && arriving.ts - a.lastSeen >= cfg.dormant_after) possible = true
  if (!possible) {
    const key = sessionKeyOf(arriving)
    const s = key === null ? undefined : state.sessions.get(key)
    // a session made only of waiting events spans less than the lateness: far below any max_session
    if (key !== null && s && !state.open.has(key) && arriving.ts - s.first >= cfg.max_session) possible = true
  }
  if (!possible) return []
  const pending = waiting()
  if (pending.length === 0) return []
  const sessions = new Map<string, SessionEntry>()
  for (const e of pending) {
    const key = sessionKeyOf(e)
    if (key === null) continue
    const s = state.sessions.get(key)
    if (s && !sessions.has(key)) sessions.set(key, { ...s, gaps: [...s.gaps] })
  }
  const mini: ZombieState = {
    clock: state.clock,
    agents: new Map(),
    sessions,
    open: new Set(),
    evicted: 0,
  }
  if (a)
    mini.agents.set(agent, {
      lastSeen: a.lastSeen,
      gaps: [...a.gaps],
      off: a.off && { ...a.off },
      dormant: a.dormant && { ...a.dormant },
    })
  const out = new Map<string, Finding>()
  const unbounded = { maxAgents: Infinity, maxSessions: Infinity }
  for (const e of pending) {
    const step = stepZombie(mini, e, cfg, Math.max(mini.clock, e.ts), unbounded)
    for (const f of step.findings)
      if (f.state === 'firing' && !state.open.has(f.dedupe_key) && !out.has(f.dedupe_key))
        out.set(f.dedupe_key, f)
  }
  return [...out.values()]
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
