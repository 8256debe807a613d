import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { clickHouseEventStore } from '../../adapters/clickhouse/store.js'
import { budgetSpend } from '../../adapters/clickhouse/budget-spend.js'
import {
  insertAlertChanges,
  listAlerts,
  listSilences,
  upsertSilence,
} from '../../adapters/clickhouse/alerts-table.js'
import {
  deliveriesOf,
  insertDelivery,
  insertNotifications,
  pendingNotifications,
} from '../../adapters/clickhouse/outbox-table.js'
import { applyFindings } from '../../core/alerts/alert-book.js'
import type { Alert, Notification } from '../../core/alerts/alert.js'
import { mapLiteLLMPayload } from '../../core/ingest/litellm/mapper.js'
import { AttributionConfig, PrivacyConfig, WriterConfig } from '../../schemas/config.js'
import { BatchWriter } from '../../services/ingest/batch-writer.js'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { freshStore, silentLog } from '../support/store.js'
import { litellmPayload, round10 } from '../support/events.js'

const opened: StoreClient[] = []
after(async () => {
  for (const s of opened) await s.client.close()
})
async function store(name: string) {
  const s = await freshStore(name)
  opened.push(s)
  return s
}
const mapperOpts = {
  source: 'litellm_http' as const,
  gateway: 'litellm',
  attribution: AttributionConfig.parse({}),
  privacy: PrivacyConfig.parse({}),
}

test('budget spend: global, one customer, each customer, key by alias; windows and period sums', async () => {
  const s = await store('budget')
  const w = new BatchWriter(clickHouseEventStore(s), WriterConfig.parse({ max_batch_wait_ms: 5 }), silentLog)
  const at = Date.parse('2026-11-26T12:00:00Z')
  const events: RequestEvent[] = []
  // one event per minute for the last 3 hours, customers alternate; plus older spend earlier in the month
  for (let i = 1; i <= 180; i++) {
    const p = litellmPayload({
      id: `b-${i}`,
      customer: i % 2 ? 'acme' : 'globex',
      cost: 0.01 * i,
      ts: at - i * 60_000 + 5_000,
      key: i % 3 ? 'hash-a' : 'hash-b',
    })
    ;(p.metadata as Record<string, unknown>).user_api_key_alias = i % 3 ? 'alias-a' : 'alias-b'
    const r = mapLiteLLMPayload(p, mapperOpts)
    assert.ok(r.ok)
    events.push(r.event)
  }
  const old = mapLiteLLMPayload(
    litellmPayload({ id: 'b-old', customer: 'acme', cost: 100, ts: Date.parse('2026-11-02T00:00:00Z') }),
    mapperOpts,
  )
  assert.ok(old.ok)
  await w.submit([...events, old.event])
  await w.shutdown()

  const H = 3_600_000
  const periodStart = Date.parse('2026-11-01T00:00:00Z')
  const expect = (pred: (e: (typeof events)[number]) => boolean, since: number) =>
    round10(events.filter((e) => pred(e) && e.ts >= since && e.ts < at).reduce((a, e) => a + e.cost_usd, 0))

  const [global] = await budgetSpend(s.client, s.database, {}, at, periodStart, [H, 5 * 60_000])
  assert.equal(global!.scopeId, '')
  assert.equal(
    round10(global!.windowSpend[H]!),
    expect(() => true, at - H),
  )
  assert.equal(
    round10(global!.windowSpend[300_000]!),
    expect(() => true, at - 300_000),
  )
  assert.equal(round10(global!.periodSpend), round10(expect(() => true, 0) + 100))

  const [acme] = await budgetSpend(s.client, s.database, { customer: 'acme' }, at, periodStart, [H])
  assert.equal(
    round10(acme!.windowSpend[H]!),
    expect((e) => e.customer === 'acme', at - H),
  )
  assert.equal(round10(acme!.periodSpend), round10(expect((e) => e.customer === 'acme', 0) + 100))

  const each = await budgetSpend(s.client, s.database, { customer: '*' }, at, periodStart, [2 * H])
  assert.deepEqual(each.map((r) => r.scopeId).sort(), ['acme', 'globex'])

  const [byAlias] = await budgetSpend(s.client, s.database, { key: 'alias-b' }, at, periodStart, [3 * H])
  assert.equal(
    round10(byAlias!.windowSpend[3 * H]!),
    expect((e) => e.api_key_hash === 'hash-b', at - 3 * H),
  )

  const [idle] = await budgetSpend(s.client, s.database, { customer: 'nobody' }, at, periodStart, [H])
  assert.deepEqual(idle, { scopeId: 'nobody', periodSpend: 0, windowSpend: { [H]: 0 } })
})

test('alerts: every state change stored, current state listed with filters', async () => {
  const s = await store('alerts')
  const base = {
    type: 'loop' as const,
    severity: 'ticket' as const,
    scope: { kind: 'key' as const, id: 'k1' },
    summary: 's',
    details: { n: 1 },
  }
  let r = applyFindings(
    { open: {} },
    [
      { ...base, dedupe_key: 'd1', state: 'firing', at: 1_000 },
      { ...base, dedupe_key: 'd2', state: 'firing', at: 2_000 },
    ],
    () => ({}),
  )
  await insertAlertChanges(
    s.client,
    s.database,
    r.changes.map((alert) => ({ alert, silenced: false, instance: 'test' })),
    randomUUID(),
  )
  r = applyFindings(r.book, [{ ...base, dedupe_key: 'd1', state: 'resolved', at: 5_000 }], () => ({}))
  await insertAlertChanges(
    s.client,
    s.database,
    r.changes.map((alert) => ({ alert, silenced: false, instance: 'test' })),
    randomUUID(),
  )

  const all = await listAlerts(s.client, s.database, { limit: 10 })
  assert.deepEqual(
    all.map((a) => [a.dedupe_key, a.state, a.resolved_at]),
    [
      ['d2', 'firing', null],
      ['d1', 'resolved', 5_000],
    ],
  )
  assert.deepEqual(
    (await listAlerts(s.client, s.database, { state: 'firing', limit: 10 })).map((a) => a.dedupe_key),
    ['d2'],
  )
  assert.deepEqual(
    (await listAlerts(s.client, s.database, { state: 'resolved', limit: 10 })).map((a) => a.dedupe_key),
    ['d1'],
  )
  assert.equal((await listAlerts(s.client, s.database, { type: 'burn_rate', limit: 10 })).length, 0)
  assert.equal((await listAlerts(s.client, s.database, { since: 1_500, limit: 10 })).length, 1)
  assert.deepEqual(all[1]!.details, { n: 1 })
})

test('silences: create, list active, expire, delete', async () => {
  const s = await store('silences')
  const now = Date.parse('2026-11-26T12:00:00Z')
  const sil = {
    id: 's1',
    matcher: { type: 'loop' as const },
    comment: 'known batch job',
    created_by: 'oncall',
    created_at: now,
    expires_at: now + 3_600_000,
  }
  await upsertSilence(s.client, s.database, sil, false, 1)
  await upsertSilence(s.client, s.database, { ...sil, id: 's2', expires_at: now - 1 }, false, 1)
  assert.deepEqual(
    (await listSilences(s.client, s.database, now)).map((x) => x.id),
    ['s1'],
  )
  assert.equal((await listSilences(s.client, s.database, now, true)).length, 2)
  assert.deepEqual((await listSilences(s.client, s.database, now))[0], sil)
  await upsertSilence(s.client, s.database, sil, true, 2)
  assert.equal((await listSilences(s.client, s.database, now)).length, 0)
})

test('outbox: a notification stays pending until a final delivery', async () => {
  const s = await store('outbox')
  const alert = { id: 'a1' } as Alert
  const n: Notification = {
    id: 'n1',
    channel: 'ops-mail',
    kind: 'firing',
    alerts: [alert],
    created_at: Date.parse('2026-11-26T12:00:00Z'),
  }
  await insertNotifications(
    s.client,
    s.database,
    [{ notification: n, notBefore: n.created_at }],
    randomUUID(),
  )
  const now = n.created_at + 1000
  assert.deepEqual(
    (await pendingNotifications(s.client, s.database, now, 86_400_000)).map((p) => [
      p.notification.id,
      p.attempts,
    ]),
    [['n1', 0]],
  )
  await insertDelivery(s.client, s.database, {
    notificationId: 'n1',
    channel: 'ops-mail',
    attempt: 1,
    outcome: 'retry',
    detail: 'smtp down',
    at: now,
  })
  assert.deepEqual(
    (await pendingNotifications(s.client, s.database, now, 86_400_000)).map((p) => p.attempts),
    [1],
  )
  await insertDelivery(s.client, s.database, {
    notificationId: 'n1',
    channel: 'ops-mail',
    attempt: 2,
    outcome: 'success',
    detail: '250 ok',
    at: now + 1,
  })
  assert.equal((await pendingNotifications(s.client, s.database, now, 86_400_000)).length, 0)
  assert.deepEqual(
    (await deliveriesOf(s.client, s.database, 'n1')).map((d) => d.outcome),
    ['retry', 'success'],
  )
})
