import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Config } from '../../schemas/config.js'
import type { ActiveRules } from '../../schemas/rule.js'
import { start, type Running } from '../../services/start.js'
import { litellmPayload } from '../support/events.js'
import { silentLog, testDataDir } from '../support/store.js'
import { until } from '../support/until.js'

const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop()
})
const dataDir = testDataDir()
const database = `customer_tiers_${process.pid}`
async function gatewarden(): Promise<Running> {
  const r = await start(
    Config.parse({
      server: { port: 0 },
      store: { data_dir: dataDir, database },
      writer: { max_batch_wait_ms: 5 },
      budgets: [
        {
          name: 'pro-day',
          scope: { tier: 'pro' },
          limit_usd: 1,
          period: 'day',
          on_exhausted: { action: 'block' },
        },
      ],
      detectors: { tick: '1s', allowed_lateness: '0s' },
      enforcement: { mode: 'enforce', tick: '1h', gateway_models: ['gpt-4o', 'gpt-4o-mini'] },
    }),
    silentLog,
  )
  running.push(r)
  return r
}
const json = { 'content-type': 'application/json' }
type Alert = {
  type: string
  state: string
  scope: { kind: string; id: string }
  details: Record<string, unknown>
}

test('tier budgets: { tier: pro } judges each pro customer apart, from the payload tier or the API tier, with its rule on the customer; tiers are audited and kept across a restart', async () => {
  let gw = await gatewarden()
  const ingest = async (payloads: unknown[]) => {
    const r = await gw.app.inject({
      method: 'POST',
      url: '/ingest/litellm',
      headers: json,
      payload: JSON.stringify(payloads),
    })
    assert.equal(r.statusCode, 200, r.body)
    return r.json<{ accepted: number }>()
  }
  const ts = Date.now() - 10_000
  // acme is pro by its payload; zeta spends as much on the free tier; globex is set to pro through the API
  await ingest([
    ...[0, 1, 2, 3].map((i) =>
      litellmPayload({ id: `acme-${i}`, customer: 'acme', tier: 'pro', cost: 0.3, ts: ts + i }),
    ),
    ...[0, 1, 2, 3].map((i) =>
      litellmPayload({ id: `zeta-${i}`, customer: 'zeta', tier: 'free', cost: 0.3, ts: ts + i }),
    ),
  ])
  const setTier = await gw.app.inject({
    method: 'PUT',
    url: '/api/customers/globex/tier?by=sales',
    headers: json,
    payload: JSON.stringify({ tier: 'pro' }),
  })
  assert.equal(setTier.statusCode, 200, setTier.body)
  for (const bad of [{ tier: '*' }, { tier: '' }, { tier: 'pro', extra: 1 }, { tier: 'a b' }]) {
    const r = await gw.app.inject({
      method: 'PUT',
      url: '/api/customers/globex/tier',
      headers: json,
      payload: JSON.stringify(bad),
    })
    assert.equal(r.statusCode, 400, `${JSON.stringify(bad)}: ${r.body}`)
  }
  // the API tier wins over the payload's (globex's payload says free)
  await ingest(
    [0, 1, 2, 3].map((i) =>
      litellmPayload({ id: `globex-${i}`, customer: 'globex', tier: 'free', cost: 0.3, ts: ts + 100 + i }),
    ),
  )

  const cost = (await gw.app.inject({ method: 'GET', url: '/api/cost?group_by=customer,tier' })).json<{
    rows: { customer: string; tier: string; cost_usd: number }[]
  }>().rows
  assert.deepEqual(cost.map((r) => [r.customer, r.tier, Math.round(r.cost_usd * 100) / 100]).sort(), [
    ['acme', 'pro', 1.2],
    ['globex', 'pro', 1.2],
    ['zeta', 'free', 1.2],
  ])

  const alertsOf = async () =>
    (await gw.app.inject({ method: 'GET', url: '/api/alerts' })).json<{ alerts: Alert[] }>().alerts
  const exhausted = await until('both pro customers exhausted', async () => {
    await gw.engine.tick()
    const firing = (await alertsOf()).filter(
      (a) => a.type === 'budget_exhaustion' && a.state === 'firing' && a.details['exhausted'] === true,
    )
    return firing.length >= 2 ? firing : undefined
  })
  assert.deepEqual(exhausted.map((a) => [a.scope.kind, a.scope.id, a.details['budget']]).sort(), [
    ['customer', 'acme', 'pro-day'],
    ['customer', 'globex', 'pro-day'],
  ])
  // the free customer spent as much and is judged by no budget
  assert.equal((await alertsOf()).filter((a) => a.scope.id === 'zeta').length, 0)
  await gw.enforcer!.flush()
  const active = (await gw.app.inject({ method: 'GET', url: '/api/rules/active' })).json<ActiveRules>().rules
  assert.deepEqual(active.map((r) => [r.scope.kind, r.scope.id, r.action.action]).sort(), [
    ['customer', 'acme', 'block'],
    ['customer', 'globex', 'block'],
  ])

  // kept across a restart, with its audit; cleared, the payload's tier applies again
  await gw.stop()
  running.splice(running.indexOf(gw), 1)
  gw = await gatewarden()
  const list = (await gw.app.inject({ method: 'GET', url: '/api/customers/tiers' })).json<{
    tiers: { customer: string; tier: string; updated_by: string }[]
  }>().tiers
  assert.deepEqual(
    list.map((t) => [t.customer, t.tier, t.updated_by]),
    [['globex', 'pro', 'sales']],
  )
  const cleared = await gw.app.inject({ method: 'DELETE', url: '/api/customers/globex/tier?by=sales' })
  assert.equal(cleared.statusCode, 200, cleared.body)
  assert.equal((await gw.app.inject({ method: 'DELETE', url: '/api/customers/globex/tier' })).statusCode, 404)
  await ingest([
    litellmPayload({ id: 'globex-after', customer: 'globex', tier: 'free', cost: 0.01, ts: ts + 200 }),
  ])
  const globex = (
    await gw.app.inject({ method: 'GET', url: '/api/cost?group_by=tier&customer=globex' })
  ).json<{ rows: { tier: string; requests: number }[] }>().rows
  assert.deepEqual(globex.map((r) => [r.tier, r.requests]).sort(), [
    ['free', 1],
    ['pro', 4],
  ])
  const detail = (await gw.app.inject({ method: 'GET', url: '/api/customers/globex/tier' })).json<{
    tier: unknown
    events: { action: string; actor: string; before: string; after: string }[]
  }>()
  assert.equal(detail.tier, null)
  assert.deepEqual(
    detail.events.map((e) => [e.action, e.actor, e.before, e.after]),
    [
      ['set', 'sales', '', 'pro'],
      ['cleared', 'sales', 'pro', ''],
    ],
  )
})
