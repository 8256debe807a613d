import type { EventStore } from '../../core/ports/event-store.js'
import { NO_FAILPOINTS, type Failpoints } from '../../core/failpoints.js'
import type { StoreClient } from './client.js'
import { insertDeadLetters } from './dead-letters-table.js'
import { existingEventIds, insertRequestRows, maxStoredTs } from './requests-table.js'
import { storeInsertError } from './store-errors.js'
import { StoredIds } from '../../core/ingest/stored-ids.js'

/** How a duplicate lookup went: the store asked for every id, for the filter's candidates only, or not at all. */
export type DedupeLookup = 'store' | 'narrowed' | 'skipped'

export interface EventStoreOptions {
  failpoints?: Failpoints
  /**
   * Memory for the filter of ids this process stored (core/ingest/stored-ids.ts), MiB (default
   * DEDUPE_FILTER_MIB); 0: every lookup asks the store. Used on the embedded engine only, where this
   * process is the store's one writer; a server may have other writers.
   */
  dedupeFilterMiB?: number
  /** Each duplicate lookup, with how many ids went to the store. */
  dedupeLookup?(how: DedupeLookup, idsAsked: number): void
}

export const DEDUPE_FILTER_MIB = 32

/** One filter per store connection (its client): every event store on it must see every insert. */
const filters = new WeakMap<StoreClient['client'], StoredIds>()

function filterOf(store: StoreClient, mib: number): StoredIds | undefined {
  if (store.kind !== 'embedded' || mib <= 0) return undefined
  let f = filters.get(store.client)
  if (!f) filters.set(store.client, (f = new StoredIds({ maxBits: mib * 8 * 1024 * 1024 })))
  return f
}

/**
 * The EventStore port on ClickHouse (embedded or server); `store.insert` precedes each insert.
 * An insert the store refuses for its data rejects with a non-retryable GW_STORE_REJECTED
 * (store-errors.ts); any other failure is passed on as it came, retryable.
 *
 * On the embedded engine the duplicate lookup first asks the filter of ids this process stored: every
 * id is filed before its insert is sent (whatever the insert's outcome: a row the store may hold is
 * filed), and the filter is started from the store's max `ts` at the first lookup (rows of earlier
 * processes), so an id it has never seen in a window it covers is new without a statement. The store is
 * asked about the rest (repeats and rare false positives), or about every id when the window is not
 * covered (just after a restart, a replay of old events).
 */
export function clickHouseEventStore(store: StoreClient, opts: EventStoreOptions = {}): EventStore {
  const { client, database } = store
  const failpoints = opts.failpoints ?? NO_FAILPOINTS
  const filter = filterOf(store, opts.dedupeFilterMiB ?? DEDUPE_FILTER_MIB)
  let starting: Promise<void> | undefined
  return {
    existingEventIds: async (ids, minTs, maxTs) => {
      if (!filter) return existingEventIds(store, ids, minTs, maxTs)
      if (!filter.started) {
        starting ??= maxStoredTs(store).then(
          (t) => filter.cover(t),
          (err: unknown) => {
            starting = undefined
            throw err
          },
        )
        await starting
      }
      const c = filter.candidates(ids, minTs, maxTs)
      if (c.kind === 'uncovered') {
        opts.dedupeLookup?.('store', ids.length)
        return existingEventIds(store, ids, minTs, maxTs)
      }
      opts.dedupeLookup?.(c.ids.length === 0 ? 'skipped' : 'narrowed', c.ids.length)
      return c.ids.length === 0 ? new Set() : existingEventIds(store, c.ids, minTs, maxTs)
    },
    insertRequests: async (rows, token) => {
      if (filter) for (const r of rows) filter.add(r.event_id, r.ts)
      await failpoints.fire('store.insert', { table: 'requests', rows: rows.length })
      await insertRequestRows(store, rows, token).catch((err: unknown) => {
        throw storeInsertError(err)
      })
    },
    insertDeadLetters: async (rows, token) => {
      await failpoints.fire('store.insert', { table: 'dead_letters', rows: rows.length })
      await insertDeadLetters(client, database, rows, token).catch((err: unknown) => {
        throw storeInsertError(err)
      })
    },
    ping: async () => (await client.ping()).success,
  }
}
