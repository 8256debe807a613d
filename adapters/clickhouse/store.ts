import type { EventStore } from '../../core/ports/event-store.js'
import { NO_FAILPOINTS, type Failpoints } from '../../core/failpoints.js'
import type { StoreClient } from './client.js'
import { insertDeadLetters } from './dead-letters-table.js'
import { existingEventIds, insertRequestRows } from './requests-table.js'
import { storeInsertError } from './store-errors.js'

/**
 * The EventStore port on ClickHouse (embedded or server); `store.insert` precedes each insert.
 * An insert the store refuses for its data rejects with a non-retryable GW_STORE_REJECTED
 * (store-errors.ts); any other failure is passed on as it came, retryable.
 */
export function clickHouseEventStore(store: StoreClient, failpoints: Failpoints = NO_FAILPOINTS): EventStore {
  const { client, database } = store
  return {
    existingEventIds: (ids, minTs, maxTs) => existingEventIds(store, ids, minTs, maxTs),
    insertRequests: async (rows, token) => {
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
