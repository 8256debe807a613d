import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createStoreClient, type StoreClient } from '../../adapters/clickhouse/client.js'
import { migrate } from '../../adapters/clickhouse/migrate.js'
import { insertRequests } from '../../adapters/clickhouse/requests-table.js'
import { repairRollups, viewSelect } from '../../adapters/clickhouse/rollup-repair.js'
import { insertSettings } from '../../adapters/clickhouse/settings.js'
import { StoreConfig } from '../../schemas/config.js'
import { MIGRATIONS } from '../../schemas/migrations/index.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { litellmEvent } from '../support/events.js'
import { rows, silentLog, testDataDir } from '../support/store.js'

let store: StoreClient | undefined
after(async () => {
  await store?.client.close()
})

const event = litellmEvent

const HOUR = 3_600_000
const BASE = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR

test('a store made before tiers (migrations 1-7) upgrades in place: rollups keep their sums, gain tier in their key, and the repair reads the new view', async () => {
  const s = createStoreClient(
    StoreConfig.parse({
      data_dir: testDataDir(),
      database: `upgrade_${process.pid}`,
      clickhouse_url: process.env.CLICKHOUSE_URL || undefined,
    }),
  )
  store = s
  const before = MIGRATIONS.filter((m) => m.version <= 7)
  await migrate(s, silentLog, before)
  // rows as a pre-tier Gatewarden wrote them: no tier column anywhere
  const old = Array.from({ length: 40 }, (_, i) => {
    const e: Partial<RequestEvent> = event({
      id: `old-${i}`,
      customer: `c${i % 4}`,
      cost: 0.01 * (i + 1),
      ts: BASE + i * 1000,
    })
    delete e.tier
    return e
  })
  await s.client.insert({
    table: `${s.database}.requests`,
    values: old,
    format: 'JSONEachRow',
    clickhouse_settings: insertSettings('upgrade-old'),
  })

  await migrate(s, silentLog)
  await migrate(s, silentLog) // every start runs every statement again: a no-op now
  for (const table of ['requests', 'spend_by_minute', 'spend_by_hour']) {
    const [col] = await rows<{ n: number }>(
      s,
      `SELECT count() AS n FROM system.columns WHERE database = '${s.database}' AND table = '${table}' AND name = 'tier'`,
    )
    assert.equal(Number(col!.n), 1, `${table}.tier`)
  }
  const [key] = await rows<{ k: string }>(
    s,
    `SELECT sorting_key AS k FROM system.tables WHERE database = '${s.database}' AND name = 'spend_by_hour'`,
  )
  assert.match(key!.k, /, tier$/, 'tier is in the summing key, so rows of two tiers never merge')
  assert.match(viewSelect('spend_by_minute'), /\btier\b/, 'the repair rebuilds with the tiered view')

  // new rows carry their tier into both rollups; old ones read as no tier
  await insertRequests(
    s.client,
    s.database,
    Array.from({ length: 10 }, (_, i) => ({
      ...event({ id: `new-${i}`, customer: 'c0', cost: 0.5, ts: BASE + HOUR + i * 1000 }),
      tier: i < 6 ? 'pro' : 'free',
    })),
    'upgrade-new',
  )
  for (const table of ['spend_by_minute', 'spend_by_hour']) {
    const byTier = await rows<{ tier: string; n: number; cost: string }>(
      s,
      `SELECT tier, sum(requests) AS n, toString(sum(cost_usd)) AS cost FROM {{db}}.${table} GROUP BY tier ORDER BY tier`,
    )
    assert.deepEqual(
      byTier.map((r) => [r.tier, Number(r.n), r.cost]),
      [
        ['', 40, '8.2'],
        ['free', 4, '2'],
        ['pro', 6, '3'],
      ],
      table,
    )
  }
  const report = await repairRollups(s, { windowHours: 24, retentionDays: 0 }, silentLog)
  assert.ok(report.checkedHours >= 2)
  assert.deepEqual([report.repaired, report.unrepaired], [[], []], 'nothing torn: nothing rebuilt')
})
