/**
 * What the ingest benchmarks share: the LiteLLM-shaped workload and the ceiling it is compared with.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { createStoreClient } from '../adapters/clickhouse/client.js'
import { migrate } from '../adapters/clickhouse/migrate.js'
import { insertRequests } from '../adapters/clickhouse/requests-table.js'
import { mapLiteLLMPayload } from '../core/ingest/litellm/mapper.js'
import { AttributionConfig, PrivacyConfig, StoreConfig } from '../schemas/config.js'
import type { EventSource, RequestEvent } from '../schemas/request-event.js'
import { litellmPayload } from '../test/support/events.js'
import { silentLog } from '../test/support/store.js'

/** `n` LiteLLM payloads of ~4.4 KB (500 customers, 50 keys), ids `${prefix}-i`, one ms apart from `t0`. */
export function benchPayloads(n: number, prefix: string, t0: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const p = litellmPayload({
      id: `${prefix}-${i}`,
      customer: `cust-${i % 500}`,
      cost: 0.000123 * ((i % 17) + 1),
      ts: t0 + i,
      key: `key-${i % 50}`,
    })
    // pad the prompt so each event is ~4 KB, like a real chat payload
    p.messages = [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: `question ${i} ${'lorem ipsum dolor sit amet '.repeat(20)}` },
    ]
    return p
  })
}

/**
 * The ceiling: events/s of the embedded store inserting the same payloads, pre-mapped, in-process, in
 * batches of 10,000 (no HTTP, no Kafka, no parsing), on a fresh data directory.
 */
export async function storeCeiling(
  payloads: Record<string, unknown>[],
  source: EventSource,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-ceiling-'))
  const store = createStoreClient(StoreConfig.parse({ data_dir: dir, database: 'bench_ceiling' }))
  await migrate(store, silentLog)
  const opts = {
    source,
    gateway: 'litellm',
    attribution: AttributionConfig.parse({}),
    privacy: PrivacyConfig.parse({}),
  }
  const rows = payloads.map((p) => (mapLiteLLMPayload(p, opts) as { ok: true; event: RequestEvent }).event)
  const t = performance.now()
  for (let i = 0; i < rows.length; i += 10_000)
    await insertRequests(store.client, store.database, rows.slice(i, i + 10_000), randomUUID())
  const secs = (performance.now() - t) / 1000
  await store.client.close()
  rmSync(dir, { recursive: true, force: true })
  return rows.length / secs
}
