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
const database = `budgets_api_${process.pid}`
async function gatewarden(): Promise<Running> {
  const r = await start(
    Config.parse({
      server: { port: 0 },
      store: { data_dir: dataDir, database },
      writer: { max_batch_wait_ms: 5 },
      budgets: [{ name: 'from-config', scope: { team: 'research' }, limit_usd: 1000, period: 'month' }],
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

test('budgets at runtime: created, judged within a tick with their on_exhausted rule, audited, kept across a restart, deleted with their alerts', async () => {
  let gw = await gatewarden()
  const put = (name: string, body: unknown, by = 'finops') =>
    gw.app.inject({
      method: 'PUT',
      url: `/api/budgets/${name}?by=${by}`,
      headers: json,
      payload: JSON.stringify(body),
    })
  const acme = {
    scope: { customer: 'acme' },
    limit_usd: 0.5,
    period: 'day',
    on_exhausted: { action: 'block' },
  }

  const made = await put('acme-day', acme)
  assert.equal(made.statusCode, 201, made.body)
  assert.equal(made.json<{ event: { kind: string } }>().event.kind, 'created')
  // the config's budgets are listed, read-only
  const list = (await gw.app.inject({ method: 'GET', url: '/api/budgets' })).json<{
    budgets: { name: string; source: string }[]
  }>().budgets
  assert.deepEqual(
    list.map((b) => [b.name, b.source]),
    [
      ['from-config', 'config'],
      ['acme-day', 'api'],
    ],
  )
  const ro = await put('from-config', acme)
  assert.equal(ro.statusCode, 409)
  assert.equal(ro.json<{ error: { code: string } }>().error.code, 'GW_BUDGET_READONLY')
  for (const [body, why] of [
    [{ ...acme, limit_usd: -1 }, /limit_usd/],
    [{ ...acme, period: 'fortnight' }, /period/],
    [{ ...acme, on_exhausted: { action: 'downgrade', map: { 'gpt-4o': 'o1-pro' } } }, /gateway_models/],
    [{ ...acme, extra: 1 }, /extra|Unrecognized/i],
  ] as const) {
    const r = await put('bad', body)
    assert.equal(r.statusCode, 400, r.body)
    assert.match(r.json<{ error: { message: string } }>().error.message, why)
  }

  // acme spends $1.20 against its $0.50 runtime budget
  const ts = Date.now() - 5_000
  const spend = [0, 1, 2, 3].map((i) =>
    litellmPayload({ id: `acme-${i}`, customer: 'acme', cost: 0.3, ts: ts + i }),
  )
  const ing = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: JSON.stringify(spend),
  })
  assert.equal(ing.statusCode, 200)
  const alertsOf = async (g: Running) =>
    (await g.app.inject({ method: 'GET', url: '/api/alerts' })).json<{ alerts: Alert[] }>().alerts
  const exhausted = await until('the runtime budget exhausted', async () => {
    await gw.engine.tick()
    return (await alertsOf(gw)).find(
      (a) => a.type === 'budget_exhaustion' && a.state === 'firing' && a.details['exhausted'] === true,
    )
  })
  assert.equal(exhausted.details['budget'], 'acme-day')
  await gw.enforcer!.flush()
  const active = (await gw.app.inject({ method: 'GET', url: '/api/rules/active' })).json<ActiveRules>().rules
  assert.deepEqual(
    active.map((r) => [r.scope.kind, r.scope.id, r.action.action]),
    [['customer', 'acme', 'block']],
  )

  // a change is audited; a restart keeps the runtime budget
  assert.equal((await put('acme-day', { ...acme, limit_usd: 0.6 })).statusCode, 200)
  await gw.stop()
  running.splice(running.indexOf(gw), 1)
  gw = await gatewarden()
  const detail = (await gw.app.inject({ method: 'GET', url: '/api/budgets/acme-day' })).json<{
    budget: { limit_usd: number; source: string }
    events: { kind: string; actor: string }[]
  }>()
  assert.deepEqual([detail.budget.limit_usd, detail.budget.source], [0.6, 'api'])
  assert.deepEqual(
    detail.events.map((e) => [e.kind, e.actor]),
    [
      ['created', 'finops'],
      ['updated', 'finops'],
    ],
  )

  // deleted: its open alerts resolve on the next tick and the rule they made is lifted
  const del = await gw.app.inject({ method: 'DELETE', url: '/api/budgets/acme-day?by=finops' })
  assert.equal(del.statusCode, 200, del.body)
  await until('the alerts of the deleted budget resolved', async () => {
    await gw.engine.tick()
    const open = (await alertsOf(gw)).filter(
      (a) => a.details['budget'] === 'acme-day' && a.state === 'firing',
    )
    return open.length === 0 ? true : undefined
  })
  await gw.enforcer!.flush()
  assert.deepEqual(
    (await gw.app.inject({ method: 'GET', url: '/api/rules/active' })).json<ActiveRules>().rules,
    [],
  )
  assert.equal((await gw.app.inject({ method: 'GET', url: '/api/budgets/acme-day' })).statusCode, 404)
  assert.equal((await gw.app.inject({ method: 'DELETE', url: '/api/budgets/acme-day' })).statusCode, 404)
})
