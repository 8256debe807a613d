import { test, after, before } from 'node:test'
import { registeredRoutes } from '../../adapters/http/route-list.js'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import { litellmPayload } from '../support/events.js'
import { rows, silentLog, testDataDir } from '../support/store.js'

/**
 * Auth on every route a token guards (enumerated from fastify's own route table, so a route added
 * without auth fails here), and every API filter bound as a parameter (SQL injection strings on each).
 */
const TOKEN = 'sec-token-0123456789abcdef'
const AUTH = { authorization: `Bearer ${TOKEN}` }
/** The only routes answered without the token: probes, metrics and the console's static files (no data). */
const PUBLIC = new Set(
  [
    '/healthz',
    '/metrics',
    '/',
    '/console/*',
    '/console/vendor/uplot.js',
    '/console/vendor/uplot.css',
  ].flatMap((p) => [`GET ${p}`, `HEAD ${p}`]),
)

let gw: Running
before(async () => {
  gw = await start(
    Config.parse({
      server: { port: 0, auth_token: TOKEN },
      store: { data_dir: testDataDir(), database: `security_${process.pid}` },
      writer: { max_batch_wait_ms: 5 },
      enforcement: { mode: 'dry_run', tick: '1h' },
      budgets: [],
    }),
    silentLog,
  )
})
after(() => gw?.stop())

/** Every route of the app as "METHOD /path", read from fastify's route tree (printRoutes). */
/** Every route fastify registered (its onRoute hook, `adapters/http/route-list.ts`), as `METHOD /path`. */
function routeTable(app: FastifyInstance): string[] {
  return registeredRoutes(app).map((r) => `${r.method} ${r.url}`)
}
const concrete = (path: string) => path.replace(/:[a-z_]+/g, 'x-1').replace(/\*$/, 'x-1')

test('the route table is read whole (guards the parser of this test)', () => {
  const routes = routeTable(gw.app)
  for (const r of [
    'POST /ingest/litellm',
    'POST /v1/traces',
    'GET /api/cost',
    'DELETE /api/rules/:id',
    'PUT /api/budgets/:name',
    'GET /api/dead-letters',
    'GET /alerts',
  ])
    assert.ok(routes.includes(r), `${r} in ${routes.join(', ')}`)
})

test('every route but the public probes answers 401 without the token, and with a wrong one', async () => {
  const routes = routeTable(gw.app).filter((r) => !PUBLIC.has(r))
  assert.ok(routes.length >= 15, routes.join(', '))
  for (const r of routes) {
    const [method, path] = r.split(' ') as [string, string]
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-000000000000' },
      { authorization: TOKEN },
    ]) {
      const res = await gw.app.inject({
        method: method as 'GET',
        url: concrete(path),
        headers: { 'content-type': 'application/json', ...headers },
        payload: method === 'GET' || method === 'HEAD' ? undefined : '{}',
      })
      assert.equal(res.statusCode, 401, `${r} with ${JSON.stringify(headers)}: ${res.body.slice(0, 200)}`)
    }
  }
})

test('the token is not bypassed by another spelling of the path', async () => {
  for (const url of [
    '/%61pi/cost',
    '/api%2Fcost',
    '//api/cost',
    '/api//cost',
    '/api/cost/',
    '/API/cost',
    '/api/./cost',
    '/ingest/litellm?x=/healthz',
    '/healthz/../api/cost',
  ]) {
    const res = await gw.app.inject({ method: 'GET', url })
    assert.ok(
      res.statusCode === 401 || res.statusCode === 404,
      `${url}: ${res.statusCode} ${res.body.slice(0, 200)}`,
    )
  }
  const ok = await gw.app.inject({ method: 'GET', url: '/api/cost', headers: AUTH })
  assert.equal(ok.statusCode, 200, ok.body)
})

test('with the token every guarded route is reached (no 401)', async () => {
  for (const r of routeTable(gw.app).filter((x) => !PUBLIC.has(x))) {
    const [method, path] = r.split(' ') as [string, string]
    const res = await gw.app.inject({
      method: method as 'GET',
      url: concrete(path),
      headers: { 'content-type': 'application/json', ...AUTH },
      payload: method === 'GET' || method === 'HEAD' ? undefined : '{}',
    })
    assert.notEqual(res.statusCode, 401, r)
    assert.ok(res.statusCode < 500, `${r}: ${res.statusCode} ${res.body.slice(0, 200)}`)
  }
})

const INJECTIONS = [
  "' OR 1=1 --",
  "acme' OR '1'='1",
  "'; DROP TABLE requests; --",
  "acme' UNION ALL SELECT name FROM system.tables --",
  "\\' OR 1=1 --",
  '") OR (1=1',
  '{customer:String}',
  "' || (SELECT count() FROM system.users) || '",
  'acme\u0000',
  '%27%20OR%201%3D1',
  '1; DROP DATABASE default',
]
const FILTERS: Record<string, string[]> = {
  '/api/cost': ['customer', 'team', 'key', 'endpoint', 'agent', 'model', 'from', 'to', 'group_by', 'limit'],
  '/api/alerts': ['state', 'since', 'type', 'limit'],
  '/api/rules': ['state', 'scope_kind', 'scope_id', 'limit'],
  '/api/dead-letters': ['source', 'limit'],
}

/**
 * Filters compared as text: an injection string is a value that matches nothing. The others are typed
 * (enum, number, date): refused with a 4xx, or read as their type (V8's Date.parse reads a date out of
 * "acme' OR '1'='1"), and either way only a bound parameter reaches SQL; the table check covers them.
 */
const TEXT_FILTERS = new Set(['customer', 'team', 'key', 'endpoint', 'agent', 'model', 'scope_id', 'source'])

const counts = async () =>
  rows<Record<string, string>>(
    gw.store,
    `SELECT toString((SELECT count() FROM {{db}}.requests)) AS requests,
       toString((SELECT count() FROM {{db}}.dead_letters)) AS dead_letters,
       toString((SELECT count() FROM {{db}}.alerts)) AS alerts,
       toString((SELECT count() FROM {{db}}.rules)) AS rules,
       toString((SELECT count() FROM system.tables WHERE database = '{{db}}')) AS tables`,
  )

test('SQL injection strings on every filter: a 4xx or an empty/correct answer; the tables intact', async () => {
  const ts = Date.now() - 3_600_000
  const seeded = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: { 'content-type': 'application/json', ...AUTH },
    payload: JSON.stringify([
      litellmPayload({ id: `sec-${process.pid}-1`, customer: 'acme', cost: 0.5, ts }),
      litellmPayload({ id: `sec-${process.pid}-2`, customer: 'globex', cost: 0.25, ts }),
      'not an object',
    ]),
  })
  assert.deepEqual(seeded.json(), { accepted: 2, rejected: 1, duplicates: 0 })
  const rule = await gw.app.inject({
    method: 'POST',
    url: '/api/rules',
    headers: { 'content-type': 'application/json', ...AUTH },
    payload: JSON.stringify({
      scope: { kind: 'customer', id: 'acme' },
      action: { action: 'block' },
      by: 'sec',
      why: 'test',
      duration: '10m',
    }),
  })
  assert.equal(rule.statusCode, 201, rule.body)
  const before = await counts()
  const from = new Date(ts - 86_400_000).toISOString()
  const to = new Date(ts + 86_400_000).toISOString()
  const get = (path: string, q: Record<string, string>) =>
    gw.app.inject({ method: 'GET', url: `${path}?${new URLSearchParams(q).toString()}`, headers: AUTH })

  for (const [path, filters] of Object.entries(FILTERS)) {
    for (const f of filters) {
      for (const bad of INJECTIONS) {
        const q: Record<string, string> = path === '/api/cost' ? { from, to } : {}
        q[f] = bad
        const res = await get(path, q)
        const what = `${path} ${f}=${JSON.stringify(bad)}: ${res.statusCode} ${res.body.slice(0, 200)}`
        assert.ok(res.statusCode === 200 || (res.statusCode >= 400 && res.statusCode < 500), what)
        if (res.statusCode !== 200 || !TEXT_FILTERS.has(f)) continue
        // a text filter answered: then only as the literal value it is, which matches nothing stored
        const body = res.json<Record<string, unknown[]>>()
        const list = body.rows ?? body.alerts ?? body.rules ?? body.dead_letters
        assert.ok(Array.isArray(list), what)
        assert.deepEqual(list, [], what)
      }
    }
  }
  assert.deepEqual(await counts(), before, 'no table changed')
  // and the filters still work on real values
  const acme = (await get('/api/cost', { from, to, customer: 'acme' })).json<{
    rows: Array<{ customer: string; cost_usd: number }>
  }>()
  assert.deepEqual(
    acme.rows.map((r) => [r.customer, r.cost_usd]),
    [['acme', 0.5]],
  )
  const dl = (await get('/api/dead-letters', { source: 'litellm_http' })).json<{
    dead_letters: Array<{ code: string }>
  }>()
  // (the route walk above may have dead-lettered its '{}' bodies too)
  assert.ok(dl.dead_letters.map((d) => d.code).includes('GW_DL_NOT_OBJECT'), JSON.stringify(dl))
  const r = (await get('/api/rules', { scope_id: 'acme' })).json<{ rules: unknown[] }>()
  assert.equal(r.rules.length, 1)
})
