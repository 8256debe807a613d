import { GatewardenError } from './errors.js'

/**
 * Named fault points compiled into the product (in the spirit of FoundationDB/TiKV fail points), off
 * unless a spec arms them. The service parses `GATEWARDEN_FAILPOINTS` once at start; code at each point
 * calls `await failpoints.fire(name)`, which costs one call and no allocation when nothing is armed.
 */
export const FAILPOINT_NAMES = [
  /** The writer has a deduplicated batch, nothing of it inserted yet. */
  'writer.before_insert',
  /** The writer's batch is committed in the store; no sender has been acked yet. */
  'writer.after_insert',
  /** A Kafka batch is stored; its offsets are neither resolved nor committed. */
  'kafka.before_commit',
  /** A Kafka batch is stored and its offsets committed. */
  'kafka.after_commit',
  /** An HTTP ingest (LiteLLM or OTLP) is stored; the answer is not sent yet. */
  'http.before_ack',
  /** The ClickHouse adapter is about to insert rows (requests or dead letters); inside the writer's retry. */
  'store.insert',
] as const

export type FailpointName = (typeof FAILPOINT_NAMES)[number]

/** What an armed point does when it triggers. */
export type FailAction = { kind: 'crash' } | { kind: 'error' } | { kind: 'delay'; ms: number }

/**
 * One armed point: `action` triggers on hits `from`..`from + times - 1` (1-based).
 * `crash` triggers once; `error(N)` N times (`error` always); `delay(ms)` on every hit from `from`.
 */
export interface FailRule {
  action: FailAction
  from: number
  times: number
}

/** The parsed spec: one rule per armed point. */
export type FailPlan = ReadonlyMap<FailpointName, FailRule>

const KNOWN = new Set<string>(FAILPOINT_NAMES)
const TERM = /^([a-z]+)(?:\((\d+)\))?(?:@(\d+))?$/

/**
 * Parses `name=action[(n)][@hit],...`, e.g. `writer.after_insert=crash@2,store.insert=error(5)`.
 * Actions: `off`, `crash`, `error`, `error(N)`, `delay(ms)`; `@hit` starts at the hit-th hit (default 1).
 * An unknown name, a bad action or a point given twice is an error naming that entry.
 */
export function parseFailpoints(spec: string): { ok: true; plan: FailPlan } | { ok: false; reason: string } {
  const plan = new Map<FailpointName, FailRule>()
  for (const entry of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf('=')
    const name = (eq < 0 ? entry : entry.slice(0, eq)).trim()
    const term = eq < 0 ? '' : entry.slice(eq + 1).trim()
    if (!KNOWN.has(name))
      return { ok: false, reason: `unknown failpoint "${name}" (known: ${FAILPOINT_NAMES.join(', ')})` }
    const key = name as FailpointName
    if (plan.has(key)) return { ok: false, reason: `failpoint "${name}" is given twice` }
    const m = TERM.exec(term)
    const bad = (why: string) => ({
      ok: false as const,
      reason: `failpoint "${name}": ${why} in "${term}" (use off, crash, error, error(N) or delay(ms), optionally @hit)`,
    })
    if (!m) return bad(eq < 0 ? 'no action' : 'bad action')
    const [, action, arg, at] = m
    const from = at === undefined ? 1 : Number(at)
    if (from < 1) return bad('@hit counts from 1')
    if (action === 'off') {
      if (arg !== undefined || at !== undefined) return bad('off takes no argument')
      continue
    }
    if (action === 'crash') {
      if (arg !== undefined) return bad('crash takes no argument')
      plan.set(key, { action: { kind: 'crash' }, from, times: 1 })
    } else if (action === 'error') {
      const times = arg === undefined ? Infinity : Number(arg)
      if (times < 1) return bad('error(N) needs N >= 1')
      plan.set(key, { action: { kind: 'error' }, from, times })
    } else if (action === 'delay') {
      if (arg === undefined) return bad('delay needs its milliseconds')
      plan.set(key, { action: { kind: 'delay', ms: Number(arg) }, from, times: Infinity })
    } else return bad(`unknown action "${action}"`)
  }
  return { ok: true, plan }
}

/** How a triggered action acts on the world; the service supplies the real process. */
export interface FailEffects {
  /** MUST not return control (kill -9 of the own process). */
  crash(name: FailpointName): void
  sleep(ms: number): Promise<void>
  /** Told before the action runs (for a log line a test can wait on). */
  fired?(name: FailpointName, action: FailAction, hit: number, detail?: Record<string, unknown>): void
}

/** The armed points of one process. */
export interface Failpoints {
  /** False when nothing is armed. */
  readonly armed: boolean
  /** Counts a hit of `name`; the action to take now, if any. */
  hit(name: FailpointName): FailAction | undefined
  /**
   * Counts a hit and acts: `crash` never settles (the process is gone), `error` rejects with a retryable
   * GW_FAILPOINT, `delay` resolves after its wait. Undefined when nothing triggers (await it anyway).
   */
  fire(name: FailpointName, detail?: Record<string, unknown>): Promise<void> | undefined
  /** Hits of `name` so far (0 when it is not armed). */
  hits(name: FailpointName): number
  /**
   * Disarms `name` from now on (its hits keep counting, nothing triggers). The runtime switch of an
   * in-process fault test, e.g. `store.insert=error` holds the store down until the test clears it.
   */
  clear(name: FailpointName): void
}

/** Nothing armed: every check is a call that returns undefined. */
export const NO_FAILPOINTS: Failpoints = {
  armed: false,
  hit: () => undefined,
  fire: () => undefined,
  hits: () => 0,
  clear: () => undefined,
}

/** The registry for `plan`; counts hits only of armed points. */
export function createFailpoints(plan: FailPlan, effects: FailEffects): Failpoints {
  if (plan.size === 0) return NO_FAILPOINTS
  const counts = new Map<FailpointName, number>()
  const cleared = new Set<FailpointName>()
  const hit = (name: FailpointName): FailAction | undefined => {
    const rule = plan.get(name)
    if (!rule) return undefined
    const n = (counts.get(name) ?? 0) + 1
    counts.set(name, n)
    if (cleared.has(name)) return undefined
    return n >= rule.from && n < rule.from + rule.times ? rule.action : undefined
  }
  return {
    armed: true,
    hit,
    hits: (name) => counts.get(name) ?? 0,
    clear: (name) => void cleared.add(name),
    fire(name, detail) {
      const action = hit(name)
      if (!action) return undefined
      effects.fired?.(name, action, counts.get(name)!, detail)
      switch (action.kind) {
        case 'crash':
          effects.crash(name)
          return new Promise<void>(() => undefined)
        case 'error':
          return Promise.reject(
            new GatewardenError('GW_FAILPOINT', `failpoint ${name} injected an error`, true),
          )
        case 'delay':
          return effects.sleep(action.ms)
      }
    },
  }
}
