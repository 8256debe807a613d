import { randomUUID } from 'node:crypto'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { listAlerts, listSilences, upsertSilence } from '../../adapters/clickhouse/alerts-table.js'
import type { HttpPorts } from '../../adapters/http/ports.js'
import { silenceExpiry } from '../../core/alerts/silences.js'

/** The alerts and silences ports of the HTTP API, on the store. */
export function alertApi(store: StoreClient, now: () => number): NonNullable<HttpPorts['alerts']> {
  const { client, database } = store
  return {
    list: (q) => listAlerts(client, database, { ...q }),
    silences: (all) => listSilences(client, database, now(), all),
    createSilence: async (input) => {
      const at = now()
      const s = {
        id: randomUUID(),
        matcher: input.matcher,
        comment: input.comment,
        created_by: input.created_by,
        created_at: at,
        expires_at: silenceExpiry(input, at),
      }
      await upsertSilence(client, database, s, false, at)
      return s
    },
    deleteSilence: async (id) => {
      const found = (await listSilences(client, database, now(), true)).find((s) => s.id === id)
      if (!found) return false
      await upsertSilence(client, database, found, true, Math.max(now(), found.created_at + 1))
      return true
    },
  }
}
