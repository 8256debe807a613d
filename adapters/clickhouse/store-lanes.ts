import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client'
import { GatewardenError } from '../../core/errors.js'

/** Seconds an analyst read (cost API, CLI) may run on the embedded engine before it is stopped. */
export const READ_MAX_EXECUTION_S = 20
/** Reads waiting for the engine beyond this are refused (retryable) instead of queued. */
export const MAX_WAITING_READS = 64
/** Store work (ingest, detectors, outbox) served in a row while a read waits, so reads still progress. */
const WRITES_PER_READ = 8

export type Lane = 'store' | 'read'
type Method = 'query' | 'insert' | 'command' | 'exec' | 'ping'
const METHODS = new Set<string>(['query', 'insert', 'command', 'exec', 'ping'])

/** One statement as the lanes ran it: what it was, how long it waited for the engine, how long it ran. */
export interface StatementInfo {
  lane: Lane
  /** `verb table`, e.g. `insert requests`, `select spend_by_hour` (statementLabel). */
  statement: string
  waitMs: number
  runMs: number
  ok: boolean
}

/** Distinct labels reported before the rest become `other` (labels name our own tables: a few dozen). */
const MAX_LABELS = 64

/**
 * A statement's label: its verb and the first table it names, without the database, e.g.
 * `select requests`, `insert spend_by_hour`, `alter alerts`. Bounded: SQL text never becomes a label.
 */
export function statementLabel(params: { query?: string; table?: string } | undefined): string {
  if (params?.table !== undefined) return `insert ${bareTable(params.table)}`
  const sql = params?.query ?? ''
  const verb = /^\s*(?:WITH\b[\s\S]*?\)\s*)?([A-Za-z]+)/.exec(sql)?.[1]?.toLowerCase() ?? 'unknown'
  const table = /\b(?:FROM|INTO|TABLE|UPDATE|ALTER\s+TABLE)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?([`\w.]+)/i.exec(
    sql,
  )?.[1]
  return table ? `${verb} ${bareTable(table)}` : verb
}

const bareTable = (t: string) => t.replace(/`/g, '').split('.').pop()!

/**
 * One embedded engine, two lanes. The embedded engine runs one statement at a time per session, so a
 * slow analyst query used to delay every insert ack queued behind it. Here every statement waits for
 * the engine in one queue with two lanes: `store` (ingest inserts and dedupe lookups, detectors, outbox,
 * migrations: everything but analyst reads) goes first; `read` (the cost API and CLI) runs when no store
 * work waits (or after `WRITES_PER_READ` store statements in a row), one at a time, at most
 * `MAX_WAITING_READS` waiting, each bounded by `max_execution_time`. A running statement is never
 * interrupted, so a store statement waits at most for one read (<= READ_MAX_EXECUTION_S).
 *
 * chdb keeps `clickhouse_settings` for the session, so a read's `max_execution_time` would stay for the
 * next insert: every statement states its own (`0`, no limit, on the store lane). chdb/connection applies
 * each setting as a `SET` statement run before the statement (~0.2 ms each on 2 cores; an insert states
 * ten), so the lanes, which see every statement of the session in the order the engine runs them, send
 * only the settings whose value differs from the one the session holds (sessionSettings): the engine runs
 * each statement under exactly the settings it states, as before, without the repeated `SET`s. This holds
 * while the client adds no settings of its own after the lanes (createStoreClient gives it none) and no
 * statement is abandoned before the engine ends it (no caller passes an `abort_signal`).
 */
export function embeddedLanes(
  client: ClickHouseClient,
  onStatement?: (info: StatementInfo) => void,
): { store: ClickHouseClient; read: ClickHouseClient } {
  const labels = new Set<string>()
  const bounded = (label: string) => {
    if (labels.has(label)) return label
    if (labels.size >= MAX_LABELS) return 'other'
    labels.add(label)
    return label
  }
  const waiting: Record<Lane, Array<() => void>> = { store: [], read: [] }
  let busy = false
  let storeInARow = 0
  const next = () => {
    if (busy) return
    const readFirst =
      waiting.read.length > 0 && (waiting.store.length === 0 || storeInARow >= WRITES_PER_READ)
    const run = readFirst ? waiting.read.shift() : waiting.store.shift()
    if (!run) return
    storeInARow = readFirst ? 0 : storeInARow + 1
    busy = true
    run()
  }
  const inLane = <T>(lane: Lane, work: () => Promise<T>, label?: () => string): Promise<T> => {
    if (lane === 'read' && waiting.read.length >= MAX_WAITING_READS)
      return Promise.reject(
        new GatewardenError(
          'GW_STORE_UNAVAILABLE',
          `more than ${MAX_WAITING_READS} store reads waiting`,
          true,
        ),
      )
    const queuedAt = performance.now()
    return new Promise<T>((resolve, reject) => {
      waiting[lane].push(() => {
        const startedAt = performance.now()
        let ok = false
        work()
          .then((v) => ((ok = true), v))
          .then(resolve, reject)
          .finally(() => {
            busy = false
            if (onStatement && label) {
              const ended = performance.now()
              const info = {
                lane,
                statement: bounded(label()),
                waitMs: startedAt - queuedAt,
                runMs: ended - startedAt,
                ok,
              }
              try {
                onStatement(info)
              } catch {
                // an observer's failure is not the statement's
              }
            }
            next()
          })
      })
      next()
    })
  }
  const session = sessionSettings()
  const view = (lane: Lane): ClickHouseClient => {
    const limit: ClickHouseSettings = { max_execution_time: lane === 'read' ? READ_MAX_EXECUTION_S : 0 }
    return new Proxy(client, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown
        if (typeof prop !== 'string' || !METHODS.has(prop) || typeof value !== 'function') return value
        const method = prop as Method
        return (params?: { clickhouse_settings?: ClickHouseSettings }) =>
          inLane(
            lane,
            () => {
              const fn = value as (p?: unknown) => Promise<unknown>
              if (method === 'ping') return fn.call(target, params)
              const changed = session.changed({ ...limit, ...params?.clickhouse_settings })
              const sets = setsRun(method, params as { values?: unknown })
              return fn.call(target, { ...params, clickhouse_settings: changed }).then(
                (v) => {
                  if (sets === 'ran') session.applied(changed)
                  else if (sets === 'unknown') session.unknown()
                  return v
                },
                (e: unknown) => {
                  session.unknown()
                  throw e
                },
              )
            },
            () => (method === 'ping' ? 'ping' : statementLabel(params as { query?: string; table?: string })),
          )
      },
    })
  }
  return { store: view('store'), read: view('read') }
}

/**
 * Settings chdb/connection does not `SET` in the session: it turns `default_format` into an option of the
 * one statement, and drops the HTTP server's own settings (its `HTTP_ONLY_SETTINGS`, chdb 3.4). These are
 * passed on every time and never taken as held.
 */
const NOT_SESSION_SETTINGS = new Set([
  'default_format',
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_response_buffer_size',
  'http_headers_progress_interval_ms',
  'http_send_progress_interval_ms',
  'enable_http_compression',
  'http_zlib_compression_level',
  'http_response_compression_method',
  'http_native_compression_disable_checksumming_on_decompress',
])

/**
 * Whether a statement that succeeded ran its `SET`s. An insert of no rows never reaches the engine
 * (@clickhouse/client returns before the connection for an empty array; chdb/connection skips an empty
 * body), so it changed nothing; whether a stream or a string held rows, or what `exec` (which may carry a
 * body too) did, is not known here.
 */
function setsRun(method: Method, params: { values?: unknown } | undefined): 'ran' | 'not run' | 'unknown' {
  if (method === 'query' || method === 'command') return 'ran'
  if (method === 'insert' && Array.isArray(params?.values))
    return params.values.length > 0 ? 'ran' : 'not run'
  return 'unknown'
}

/** A setting's value as its `SET` states it (chdb/connection writes booleans as 1 and 0). */
const asSet = (v: unknown): string => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v))

/**
 * The settings one engine session holds, as this process set them. `changed` gives the subset of a
 * statement's settings the session does not already hold with that value; `applied` records them once the
 * statement succeeded (its `SET`s ran first); after a failure nothing is known (a `SET` may or may not have
 * run), so every setting is sent again.
 */
export function sessionSettings(): {
  changed(wanted: ClickHouseSettings): ClickHouseSettings
  applied(sent: ClickHouseSettings): void
  unknown(): void
} {
  const held = new Map<string, string>()
  return {
    changed(wanted) {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(wanted)) {
        if (v === undefined) continue
        if (NOT_SESSION_SETTINGS.has(k) || held.get(k) !== asSet(v)) out[k] = v
      }
      return out as ClickHouseSettings
    },
    applied(sent) {
      for (const [k, v] of Object.entries(sent)) {
        if (v !== undefined && !NOT_SESSION_SETTINGS.has(k)) held.set(k, asSet(v))
      }
    },
    unknown() {
      held.clear()
    },
  }
}
