import type { DetectorsConfig } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { dedupeKey, parseDedupeKey } from './dedupe-key.js'
import type { Finding, Scope, Step } from './finding.js'
import { evictOver } from './lru.js'
import { byEventTime, reconcileOpen } from './restore.js'
import { durationLabel, iso, round, span, usd } from './wording.js'

export type LoopConfig = DetectorsConfig['loop']
type LoopScope = LoopConfig['scope'][number]

export interface LoopLimits {
  /**
   * Most (scope, fingerprint or error) entries kept; beyond, the least recently seen 10% go at once
   * (counted in `evicted`; an evicted open loop resolves). Default `detectors.loop.max_entries`.
   */
  maxEntries?: number
}

interface Incident {
  /** Event time of the first of the `threshold` repeats that made the loop. */
  since: number
  repeats: number
  cost: number
  /** Latest repeat; the loop ends `window` after it. */
  lastTs: number
  /** Who loops (kept only while an incident is open: the entry itself holds no strings but the model). */
  kind: LoopScope
  id: string
  what: 'fp' | 'error'
  /** The fingerprint or the error type. */
  sig: string
}

/**
 * One scope value and one fingerprint (or error type), compact (bytes per entry measured by
 * `bench/detection-memory.ts`). Its key is a 96-bit hash of (scope kind, scope id, fp/error,
 * signature), so the scope id and the fingerprint are not held for entries without an open loop.
 */
export interface LoopEntry {
  /**
   * Times and costs of the latest repeats, interleaved `[t0, c0, t1, c1, ...]` by ascending time, at most
   * the threshold pairs: enough for an exact count. A plain array of doubles (unboxed), sized exactly.
   */
  ring: number[]
  lastTs: number
  model: string
  incident: Incident | null
}

/**
 * Loop detector state. Owned: steps update it in place and return it (copying 50 000 entries per
 * event would cost more than the detection); callers MUST use the returned state.
 */
export interface LoopState {
  /** Event-time frontier: events older than this are late (counted, never fire). */
  clock: number
  /** Entries by internal key (`entryKey`), least recently seen first (LRU order). */
  entries: Map<string, LoopEntry>
  /** Internal keys of entries with an open incident. */
  open: Set<string>
  evicted: number
}

/** JSON form of `LoopState` (entries in LRU order). */
export interface LoopStateJSON {
  clock: number
  entries: Array<[string, LoopEntry]>
  evicted: number
}

export function initLoopState(): LoopState {
  return { clock: -Infinity, entries: new Map(), open: new Set(), evicted: 0 }
}

export function loopStateToJSON(s: LoopState): LoopStateJSON {
  return { clock: Number.isFinite(s.clock) ? s.clock : -1, entries: [...s.entries], evicted: s.evicted }
}

export function loopStateFromJSON(j: LoopStateJSON): LoopState {
  const entries = new Map(j.entries)
  const open = new Set([...entries].filter(([, e]) => e.incident !== null).map(([k]) => k))
  return { clock: j.clock, entries, open, evicted: j.evicted }
}

function scopeValue(kind: LoopScope, e: RequestEvent): string {
  switch (kind) {
    case 'key':
      return e.api_key_hash !== '' ? e.api_key_hash : e.api_key_alias
    case 'trace':
      return e.trace_id
    case 'session':
      return e.session_id
    case 'agent':
      return e.agent
  }
}

/** What an error loop repeats: the error type, else the HTTP status. */
export function errorSignature(e: RequestEvent): string {
  return e.error_type !== '' ? e.error_type : e.http_status > 0 ? `http_${e.http_status}` : 'unknown_error'
}

/** `loop:<scope kind>:<scope id>:fp:<fingerprint>` or `loop:<kind>:<id>:error:<error type>`. */
export function loopKey(kind: LoopScope, id: string, what: 'fp' | 'error', sig: string): string {
  return dedupeKey('loop', kind, id, what, sig)
}

/**
 * The state's own key for an entry: a fixed-size 96-bit hash (three 32-bit lanes, FNV-style steps then a
 * murmur3 finaliser) of its parts, as a 12-character one-byte string (a few dozen bytes on the heap,
 * whatever the lengths of key hash and fingerprint). Two entries sharing a key would count together:
 * at 2M entries the chance of any collision is about (2M)^2 / 2^97, i.e. 3e-17. Dedupe keys (findings)
 * keep the full parts.
 */
export function entryKey(kind: LoopScope, id: string, what: 'fp' | 'error', sig: string): string {
  // each part hashed char by char into three lanes, then a 0xffff separator; lanes in locals (a closure
  // over them cost twice the time: context slots, not registers)
  let a = 0x811c9dc5
  let b = 0x5bd1e995
  let c = 0x9e3779b9
  for (let p = 0; p < 4; p++) {
    const text = p === 0 ? kind : p === 1 ? id : p === 2 ? what : sig
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i)
      a = Math.imul(a ^ ch, 0x01000193)
      b = Math.imul(b ^ ch, 0x5bd1e995)
      c = Math.imul(c ^ ch, 0x27d4eb2d)
    }
    a = Math.imul(a ^ 0xffff, 0x01000193)
    b = Math.imul(b ^ 0xffff, 0x5bd1e995)
    c = Math.imul(c ^ 0xffff, 0x27d4eb2d)
  }
  return bytes(fmix(a)) + bytes(fmix(b ^ a)) + bytes(fmix(c ^ b))
}

function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

const bytes = (h: number): string =>
  String.fromCharCode(h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, (h >>> 24) & 0xff)

/** Inserts (ts, cost) into a sorted ring of at most `cap` pairs, keeping the latest; returns the ring. */
function ringInsert(r: number[], cap: number, ts: number, cost: number): number[] {
  const n = r.length >> 1
  let i = n
  while (i > 0 && r[2 * i - 2]! > ts) i--
  if (n === cap) {
    if (i === 0) return r // older than all kept: changes no count
    for (let j = 0; j < i - 1; j++) {
      r[2 * j] = r[2 * j + 2]!
      r[2 * j + 1] = r[2 * j + 3]!
    }
    r[2 * i - 2] = ts
    r[2 * i - 1] = cost
    return r
  }
  if (n > cap) {
    // the threshold was lowered: keep the latest `cap`
    r.splice(2 * i, 0, ts, cost)
    return r.slice(r.length - 2 * cap)
  }
  const out = new Array<number>(2 * n + 2)
  for (let j = 0; j < 2 * i; j++) out[j] = r[j]!
  out[2 * i] = ts
  out[2 * i + 1] = cost
  for (let j = 2 * i; j < 2 * n; j++) out[j + 2] = r[j]!
  return out
}

/**
 * Counts one event (in event-time order; `now` is the event-time frontier, i.e. `max(clock, event.ts)`).
 * A loop: one fingerprint `threshold` times within `window` in one scope (key, trace, session, agent,
 * per `cfg.scope`); an error loop: one error type (status failure) `error_threshold` times. Events with
 * no fingerprint are not fingerprint-counted. Exact: each entry keeps the latest `threshold` times, and
 * the count reaches the threshold iff the oldest of them is within the window. A late event
 * (`ts < clock`) is counted (in the ring and in an open incident) but never opens one, so it cannot
 * re-fire a resolved loop. `targets` are the event's `loopTargets` for `cfg`, when the caller has them.
 */
export function stepLoop(
  state: LoopState,
  e: RequestEvent,
  cfg: LoopConfig,
  now: number,
  limits: LoopLimits = {},
  targets: readonly LoopTarget[] = loopTargets(e, cfg),
): Step<LoopState> {
  const findings: Finding[] = []
  if (!cfg.enabled) return { state, findings }
  const late = e.ts < state.clock
  state.clock = Math.max(state.clock, now, e.ts)
  for (const t of targets) count(state, e, cfg, t.kind, t.id, t.what, t.sig, t.cap, late, findings, t.key)
  state.evicted += evictOver(state.entries, limits.maxEntries ?? cfg.max_entries, (key, entry) => {
    if (entry.incident) findings.push(loopFinding(entry, 'resolved', cfg, state.clock, 'evicted (state cap)'))
    state.open.delete(key)
  })
  return { state, findings }
}

function count(
  state: LoopState,
  e: RequestEvent,
  cfg: LoopConfig,
  kind: LoopScope,
  id: string,
  what: 'fp' | 'error',
  sig: string,
  cap: number,
  late: boolean,
  findings: Finding[],
  key = entryKey(kind, id, what, sig),
): void {
  let entry = state.entries.get(key)
  if (entry) state.entries.delete(key)
  else entry = { ring: [], lastTs: e.ts, model: e.model, incident: null }
  state.entries.set(key, entry)
  const inc = entry.incident
  if (inc && !late && e.ts >= inc.lastTs + cfg.window) {
    findings.push(loopFinding(entry, 'resolved', cfg, inc.lastTs + cfg.window, 'quiet for a window'))
    entry.incident = null
    state.open.delete(key)
  }
  // Sorted insert, keeping the latest `cap` (a late event older than all of them changes no count).
  const ring = (entry.ring = ringInsert(entry.ring, cap, e.ts, e.cost_usd))
  entry.lastTs = Math.max(entry.lastTs, e.ts)
  if (e.ts >= entry.lastTs) entry.model = e.model
  if (entry.incident) {
    entry.incident.repeats++
    entry.incident.cost += e.cost_usd
    entry.incident.lastTs = Math.max(entry.incident.lastTs, e.ts)
  } else if (!late && ring.length >= 2 * cap && ring[0]! > e.ts - cfg.window) {
    let cost = 0
    for (let j = 1; j < ring.length; j += 2) cost += ring[j]!
    entry.incident = { since: ring[0]!, repeats: ring.length >> 1, cost, lastTs: e.ts, kind, id, what, sig }
    state.open.add(key)
    findings.push(loopFinding(entry, 'firing', cfg, e.ts, ''))
  }
}

/** One (scope, fingerprint or error) entry an event counts toward: the state's key and its parts. */
export interface LoopTarget {
  key: string
  kind: LoopScope
  id: string
  what: 'fp' | 'error'
  sig: string
  cap: number
}

/** The entries `e` counts toward (what `stepLoop` touches), in `stepLoop`'s order. */
export function loopTargets(e: RequestEvent, cfg: LoopConfig): LoopTarget[] {
  const out: LoopTarget[] = []
  if (!cfg.enabled) return out
  for (const kind of cfg.scope) {
    const id = scopeValue(kind, e)
    if (id === '') continue
    if (e.fingerprint !== '')
      out.push({
        key: entryKey(kind, id, 'fp', e.fingerprint),
        kind,
        id,
        what: 'fp',
        sig: e.fingerprint,
        cap: cfg.threshold,
      })
    if (e.status === 'failure') {
      const sig = errorSignature(e)
      out.push({
        key: entryKey(kind, id, 'error', sig),
        kind,
        id,
        what: 'error',
        sig,
        cap: cfg.error_threshold,
      })
    }
  }
  return out
}

/** True when the entry `key` has an open incident (its alert is firing). */
export function loopOpen(state: LoopState, key: string): boolean {
  return state.open.has(key)
}

/**
 * Fire on arrival: the first firing `stepLoop` will make for `target` once `pending` (events not yet
 * delivered, sorted by event time, all counting toward `target`) are delivered after what `state` has
 * seen, computed on a copy of the one entry (the state is not touched). Exact for those events: events
 * arriving later can only add repeats, so the loop still fires (or is already open) when they come.
 */
export function previewLoop(
  state: LoopState,
  target: LoopTarget,
  pending: readonly RequestEvent[],
  cfg: LoopConfig,
): Finding | null {
  const auth = state.entries.get(target.key)
  if (auth?.incident) return null
  const copy: LoopEntry | undefined = auth && { ...auth, ring: [...auth.ring], incident: null }
  const mini: LoopState = { clock: state.clock, entries: new Map(), open: new Set(), evicted: 0 }
  if (copy) mini.entries.set(target.key, copy)
  const findings: Finding[] = []
  for (const e of pending) {
    const late = e.ts < mini.clock
    mini.clock = Math.max(mini.clock, e.ts)
    count(
      mini,
      e,
      cfg,
      target.kind,
      target.id,
      target.what,
      target.sig,
      target.cap,
      late,
      findings,
      target.key,
    )
    const fired = findings.find((f) => f.state === 'firing')
    if (fired) return fired
  }
  return null
}

/** Resolves loops quiet for a whole window and drops entries idle longer than the window. */
export function tickLoop(state: LoopState, cfg: LoopConfig, now: number): Step<LoopState> {
  const findings: Finding[] = []
  state.clock = Math.max(state.clock, now)
  if (state.open.size > 0)
    for (const key of [...state.open]) {
      const entry = state.entries.get(key)
      const inc = entry?.incident
      if (!entry || !inc) {
        state.open.delete(key)
        continue
      }
      if (now >= inc.lastTs + cfg.window) {
        findings.push(loopFinding(entry, 'resolved', cfg, inc.lastTs + cfg.window, 'quiet for a window'))
        entry.incident = null
        state.open.delete(key)
      }
    }
  for (const [key, entry] of state.entries) {
    if (entry.incident || entry.lastTs + cfg.window > now) break
    state.entries.delete(key)
  }
  return { state, findings }
}

function loopFinding(
  entry: LoopEntry,
  state: 'firing' | 'resolved',
  cfg: LoopConfig,
  at: number,
  reason: string,
): Finding {
  const inc = entry.incident!
  const scope: Scope = { kind: inc.kind, id: inc.id }
  const elapsed = Math.max(0, inc.lastTs - inc.since)
  const perMin = elapsed > 0 ? (inc.repeats - 1) / (elapsed / 60_000) : null
  const what =
    inc.what === 'fp' ? `the same request${entry.model ? ` (${entry.model})` : ''}` : `error ${inc.sig}`
  const label = inc.what === 'fp' ? 'loop' : 'error loop'
  const summary =
    state === 'firing'
      ? `${label} on ${inc.kind} ${inc.id}: ${what} ${inc.repeats} times in ${span(elapsed)} since ${iso(inc.since)}, ${usd(round(inc.cost, 4))} so far`
      : `${label} on ${inc.kind} ${inc.id} ended: ${what} ${inc.repeats} times from ${iso(inc.since)} to ${iso(inc.lastTs)}, ${usd(round(inc.cost, 4))} in all`
  const f: Finding = {
    type: 'loop',
    dedupe_key: loopKey(inc.kind, inc.id, inc.what, inc.sig),
    state,
    severity: inc.what === 'fp' ? 'page' : 'ticket',
    scope,
    at,
    summary,
    details: {
      loop: inc.what === 'fp' ? 'fingerprint' : 'error',
      fingerprint: inc.what === 'fp' ? inc.sig : null,
      error_type: inc.what === 'error' ? inc.sig : null,
      model: entry.model,
      repeats: inc.repeats,
      since: iso(inc.since),
      last: iso(inc.lastTs),
      cost_usd: round(inc.cost),
      repeats_per_min: perMin === null ? null : round(perMin, 2),
      window: durationLabel(cfg.window),
      threshold: inc.what === 'fp' ? cfg.threshold : cfg.error_threshold,
      reason: reason === '' ? null : reason,
    },
  }
  if (state === 'firing' && inc.what === 'fp' && cfg.action) f.action = cfg.action
  return f
}

/** Open loop alert keys (dedupe keys). */
export function openLoopKeys(state: LoopState): string[] {
  const out: string[] = []
  for (const k of state.open) {
    const inc = state.entries.get(k)?.incident
    if (inc) out.push(loopKey(inc.kind, inc.id, inc.what, inc.sig))
  }
  return out
}

/** How far back the engine must read events to rebuild the loop state at `now` (one window plus lateness). */
export function loopReplaySince(cfg: LoopConfig, lateness: number, now: number): number {
  return now - cfg.window - lateness
}

/**
 * Rebuilds the state after a restart from recent events (at least `loopReplaySince`), silently, then
 * reconciles with the alerts the store has open (`open`): an incident still going on stays open without
 * a new firing; an open alert whose loop the replay shows over gets its resolved finding; an incident
 * going on that the store does not have (lost in a crash) fires. Replaying the last window thus restores
 * the state without re-firing resolved incidents.
 */
export function rebuildLoopState(
  events: Iterable<RequestEvent>,
  cfg: LoopConfig,
  opts: { open: ReadonlySet<string>; now: number; limits?: LoopLimits },
): Step<LoopState> {
  let state = initLoopState()
  const firing = new Map<string, Finding>()
  const keep = (fs: Finding[]) => {
    for (const f of fs) if (f.state === 'firing') firing.set(f.dedupe_key, f)
  }
  for (const e of [...events].sort(byEventTime)) {
    const step = stepLoop(state, e, cfg, Math.max(state.clock, e.ts), opts.limits)
    state = step.state
    keep(step.findings)
  }
  state = tickLoop(state, cfg, opts.now).state
  const replayed = new Map<string, Finding>()
  for (const k of openLoopKeys(state)) {
    const f = firing.get(k)
    if (f) replayed.set(k, f)
  }
  const findings = reconcileOpen('loop', replayed, opts.open, opts.now, (key, at) => {
    const k = parseDedupeKey(key)
    if (!k || k.parts.length !== 4) return null
    const [kind, id, what, sig] = k.parts as [LoopScope, string, string, string]
    return {
      type: 'loop',
      dedupe_key: key,
      state: 'resolved',
      severity: what === 'fp' ? 'page' : 'ticket',
      scope: { kind, id },
      at,
      summary: `loop on ${kind} ${id} ended (no repeat in the last ${durationLabel(cfg.window)} after a restart)`,
      details: { loop: what === 'fp' ? 'fingerprint' : 'error', signature: sig, reason: 'over at restart' },
    }
  })
  return { state, findings }
}
