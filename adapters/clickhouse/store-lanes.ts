import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client'
import { GatewardenError } from '../../core/errors.js'

/** Seconds an analyst read (cost API, CLI) may run on the embedded engine before it is stopped. */
export const READ_MAX_EXECUTION_S = 20
/** Reads waiting for the engine beyond this are refused (retryable) instead of queued. */
export const MAX_WAITING_READS = 64
/** Store work (ingest, detectors, outbox) served in a row while a read waits, so reads still progress. */
const WRITES_PER_READ = 8

type Lane = 'store' | 'read'
type Method = 'query' | 'insert' | 'command' | 'exec' | 'ping'
const METHODS = new Set<string>(['query', 'insert', 'command', 'exec', 'ping'])

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
 * next insert: every statement states its own (`0`, no limit, on the store lane).
 */
export function embeddedLanes(client: ClickHouseClient): { store: ClickHouseClient; read: ClickHouseClient } {
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
  const inLane = <T>(lane: Lane, work: () => Promise<T>): Promise<T> => {
    if (lane === 'read' && waiting.read.length >= MAX_WAITING_READS)
      return Promise.reject(
        new GatewardenError(
          'GW_STORE_UNAVAILABLE',
          `more than ${MAX_WAITING_READS} store reads waiting`,
          true,
        ),
      )
    return new Promise<T>((resolve, reject) => {
      waiting[lane].push(() => {
        work()
          .then(resolve, reject)
          .finally(() => {
            busy = false
            next()
          })
      })
      next()
    })
  }
  const view = (lane: Lane): ClickHouseClient => {
    const limit: ClickHouseSettings = { max_execution_time: lane === 'read' ? READ_MAX_EXECUTION_S : 0 }
    return new Proxy(client, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown
        if (typeof prop !== 'string' || !METHODS.has(prop) || typeof value !== 'function') return value
        const method = prop as Method
        return (params?: { clickhouse_settings?: ClickHouseSettings }) =>
          inLane(lane, () => {
            const fn = value as (p?: unknown) => Promise<unknown>
            if (method === 'ping') return fn.call(target, params)
            return fn.call(target, {
              ...params,
              clickhouse_settings: { ...limit, ...params?.clickhouse_settings },
            })
          })
      },
    })
  }
  return { store: view('store'), read: view('read') }
}
