import { randomUUID } from 'node:crypto'
import type { HttpPorts } from '../../adapters/http/ports.js'
import { silenceExpiry } from '../../core/alerts/silences.js'
import type { AlertStore } from '../../core/ports/alert-store.js'

/** The alerts and silences ports of the HTTP API, on the alert store. */
export function alertApi(store: AlertStore, now: () => number): NonNullable<HttpPorts['alerts']> {
  return {
    list: (q) => store.listAlerts({ ...q }),
    silences: (all) => store.listSilences(now(), all),
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
      await store.upsertSilence(s, false, at)
      return s
    },
    deleteSilence: async (id) => {
      const found = (await store.listSilences(now(), true)).find((s) => s.id === id)
      if (!found) return false
      await store.upsertSilence(found, true, Math.max(now(), found.created_at + 1))
      return true
    },
  }
}
