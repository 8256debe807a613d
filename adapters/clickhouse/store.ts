import type { EventStore } from '../../core/ports/event-store.js'
import { NO_FAILPOINTS, type Failpoints } from '../../core/failpoints.js'
import type { StoreClient } from './client.js'
import { insertDeadLetters } from './dead-letters-table.js'
import { existingEventIds, insertRequests } from './requests-table.js'

/** The EventStore port on ClickHouse (embedded or server); `store.insert` precedes each insert. */
export function clickHouseEventStore(store: StoreClient, failpoints: Failpoints = NO_FAILPOINTS): EventStore {
  const { client, database } = store
  return {
    existingEventIds: (ids, minTs, maxTs) => existingEventIds(client, database, ids, minTs, maxTs),
    insertRequests: async (rows, token) => {
      await failpoints.fire('store.insert', { table: 'requests', rows: rows.length })
      return insertRequests(client, database, rows, token)
    },
    insertDeadLetters: async (rows, token) => {
      await failpoints.fire('store.insert', { table: 'dead_letters', rows: rows.length })
      return insertDeadLetters(client, database, rows, token)
    },
    ping: async () => (await client.ping()).success,
  }
}
