/**
 * A child process for test/e2e/torn-insert.test.ts (a script: import nothing from it): opens the embedded store at argv `dir`, prints what it
 * finds (raw rows vs each rollup, and the data directory of `requests`) as one JSON line, then inserts batches of `size` events (over `hours` hours from `baseMs`) through the
 * production insert until killed.
 */
import { randomUUID } from 'node:crypto'
import pino from 'pino'
import { createStoreClient } from '../../adapters/clickhouse/client.js'
import { migrate } from '../../adapters/clickhouse/migrate.js'
import { insertRequests } from '../../adapters/clickhouse/requests-table.js'
import { StoreConfig } from '../../schemas/config.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { rows } from './store.js'

const [dir, database, round, size, baseMs, hours] = process.argv.slice(2)
const BULK_BASE_MS = Number(baseMs)
const BULK_HOURS = Number(hours)
if (!(BULK_BASE_MS > 0 && BULK_HOURS > 0 && Number(size) > 0))
  throw new Error(`bad arguments ${process.argv.join(' ')}`)
const store = createStoreClient(StoreConfig.parse({ data_dir: dir, database }))
await migrate(store, pino({ level: 'silent' }))
const [found] = await rows<{ raw: string; hour: string; minute: string; requests_dir: string }>(
  store,
  `SELECT toString((SELECT count() FROM {{db}}.requests)) raw, toString((SELECT sum(requests) FROM {{db}}.spend_by_hour)) hour,
     toString((SELECT sum(requests) FROM {{db}}.spend_by_minute)) minute,
     (SELECT data_paths[1] FROM system.tables WHERE database = '${database}' AND name = 'requests') requests_dir`,
)
process.stdout.write(`${JSON.stringify(found)}\n`)
// the rollup views one after the other (production pushes them side by side): the parts of one insert then
// commit apart instead of nearly at once, so more of the kills land between them; the insert is otherwise
// the production one, settings included
const client = new Proxy(store.client, {
  get(target, prop, receiver) {
    const value = Reflect.get(target, prop, receiver) as unknown
    if (prop !== 'insert' || typeof value !== 'function') return value
    return (params: { clickhouse_settings?: Record<string, unknown> }) =>
      (value as (p: unknown) => Promise<unknown>).call(target, {
        ...params,
        clickhouse_settings: { ...params.clickhouse_settings, parallel_view_processing: 0 },
      })
  },
})
const n = Number(size)
for (let b = 0; ; b++) {
  const batch = Array.from({ length: n }, (_, i) => ({
    event_id: `bulk-${round}-${b}-${i}`,
    ts: BULK_BASE_MS + (i % BULK_HOURS) * 3_600_000 + i,
    end_ts: BULK_BASE_MS,
    source: 'litellm_http',
    gateway: 'litellm',
    customer: `c${i % 50}`,
    model: `m${i % 7}`,
    cost_usd: 0.001,
    input_tokens: 10,
    status: 'success',
  })) as unknown as RequestEvent[]
  await insertRequests(client, store.database, batch, randomUUID())
}
