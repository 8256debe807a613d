import type { EventStore } from '../../core/ports/event-store.js'
import type { StoreClient } from './client.js'
import { insertDeadLetters } from './dead-letters-table.js'
import { existingEventIds, insertRequests } from './requests-table.js'

/** The EventStore port on ClickHouse (embedded or server). */
export function clickHouseEventStore(store: StoreClient): EventStore {
  const { client, database } = store
  return {
    existingEventIds: (ids, minTs, maxTs) => existingEventIds(client, database, ids, minTs, maxTs),
    insertRequests: (rows, token) => insertRequests(client, database, rows, token),
    insertDeadLetters: (rows, token) => insertDeadLetters(client, database, rows, token),
    ping: async () => (await client.ping()).success,
  }
}
