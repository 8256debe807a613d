import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import SwaggerParser from '@apidevtools/swagger-parser'
import { registeredRoutes } from '../../adapters/http/route-list.js'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import { silentLog, testDataDir } from '../support/store.js'

const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop()
})

interface Doc {
  openapi: string
  paths: Record<string, Record<string, { parameters?: Array<{ name: string }> }>>
}

async function gatewarden(): Promise<Running> {
  const gw = await start(
    Config.parse({
      server: { port: 0, auth_token: 'openapi-test-token-0123456789' },
      store: { data_dir: testDataDir(), database: `openapi_${process.pid}` },
      enforcement: { mode: 'dry_run' },
    }),
    silentLog,
  )
  running.push(gw)
  return gw
}

test('GET /api/openapi.json serves a valid OpenAPI 3.1 document, behind the token like /api/*', async () => {
  const gw = await gatewarden()
  assert.equal((await gw.app.inject({ method: 'GET', url: '/api/openapi.json' })).statusCode, 401)
  const res = await gw.app.inject({
    method: 'GET',
    url: '/api/openapi.json',
    headers: { authorization: 'Bearer openapi-test-token-0123456789' },
  })
  assert.equal(res.statusCode, 200)
  const doc = res.json<Doc>()
  assert.equal(doc.openapi, '3.1.0')
  // validate() dereferences in place: give it a copy
  await SwaggerParser.validate(structuredClone(doc) as never)
  // the cost parameters come from CostQuery itself: a new filter dimension shows up here by itself
  const names = doc.paths['/api/cost']!.get!.parameters!.map((p) => p.name)
  for (const n of [
    'group_by',
    'period',
    'timezone',
    'top',
    'compare',
    'format',
    'provider',
    'model_requested',
  ])
    assert.ok(names.includes(n), `/api/cost documents ${n}`)
})

/** A fastify route path in OpenAPI's form: `:id` -> `{id}`, a trailing wildcard `*` -> `{path}`. */
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{path}')

test('every route fastify registers is in the document (a new route without a spec fails here)', async () => {
  const gw = await gatewarden()
  const doc = (
    await gw.app.inject({
      method: 'GET',
      url: '/api/openapi.json',
      headers: { authorization: 'Bearer openapi-test-token-0123456789' },
    })
  ).json<Doc>()
  const routes = registeredRoutes(gw.app).filter((r) => r.method !== 'HEAD')
  assert.ok(routes.length >= 20, `routes recorded: ${routes.length}`)
  const missing = routes
    .map((r) => ({ method: r.method.toLowerCase(), path: openApiPath(r.url) }))
    .filter((r) => !doc.paths[r.path]?.[r.method])
    .map((r) => `${r.method.toUpperCase()} ${r.path}`)
  assert.deepEqual(
    missing,
    [],
    'routes without an OpenAPI entry (add them in adapters/http/openapi/document.ts)',
  )
  // and nothing documented that is not served
  const served = new Set(routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`))
  const extra = Object.entries(doc.paths).flatMap(([p, ops]) =>
    Object.keys(ops)
      .filter((m) => !served.has(`${m} ${p}`))
      .map((m) => `${m} ${p}`),
  )
  assert.deepEqual(extra, [])
})
