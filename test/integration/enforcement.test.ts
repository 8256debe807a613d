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

const MIN = 60_000
/** The process clock, movable forward (expiry, loop resolution) without waiting. */
function clock() {
  let offset = 0
  return { now: () => Date.now() + offset, advance: (ms: number) => (offset += ms) }
}

let n = 0
async function gatewarden(
  enforcement: Record<string, unknown>,
  opts: { now?: () => number; dataDir?: string; database?: string; token?: string } = {},
): Promise<Running> {
  const cfg = Config.parse({
    server: { port: 0, ...(opts.token ? { auth_token: opts.token } : {}) },
    store: {
      data_dir: opts.dataDir ?? testDataDir(),
      database: opts.database ?? `enf_${process.pid}_${++n}`,
    },
    writer: { max_batch_wait_ms: 5 },
    detectors: {
      tick: '1s', // the runner judges time on multiples of it; the tests also drive ticks themselves
      allowed_lateness: '0s',
      loop: {
        threshold: 5,
        window: '60s',
        action: { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } },
      },
    },
    enforcement: { tick: '1h', ...enforcement },
  })
  const r = await start(cfg, silentLog, opts.now)
  running.push(r)
  return r
}

const json = { 'content-type': 'application/json' }
async function postLoop(gw: Running, key: string, count: number, from = 0, ts = Date.now() - 5_000) {
  const body = Array.from({ length: count }, (_, i) =>
    litellmPayload({ id: `${key}-${from + i}`, key, model: 'gpt-4o', ts: ts + i * 100 }),
  )
  const res = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: JSON.stringify(body),
  })
  assert.equal(res.statusCode, 200, res.body)
}
async function active(gw: Running, headers: Record<string, string> = {}) {
  return gw.app.inject({ method: 'GET', url: '/api/rules/active', headers })
}
/**
 * One detection round and the enforcer's reaction to it, awaited. (Live, an event judged at the watermark
 * leaves the reorder buffer on the next tick; the tests drive the ticks.)
 */
async function settle(gw: Running) {
  await gw.engine.tick()
  await gw.enforcer!.tick()
  await gw.enforcer!.flush()
}

test('a loop becomes a downgrade rule on its key, served to gateways with an ETag; lifted by hand it stays lifted for the incident', async () => {
  const gw = await gatewarden({ mode: 'enforce' })
  await settle(gw) // elect this instance leader
  await postLoop(gw, 'key-looping', 6)
  const set = await until('the rule in /api/rules/active', async () => {
    await settle(gw)
    const s = (await active(gw)).json<ActiveRules>()
    return s.rules.length > 0 ? s : undefined
  })
  assert.equal(set.rules.length, 1)
  const rule = set.rules[0]!
  assert.deepEqual(rule.scope, { kind: 'key', id: 'key-looping' })
  assert.deepEqual(rule.action, { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } })
  assert.match(rule.reason, /loop on key key-looping/)
  assert.ok(rule.expires_at > Date.now() + 59 * MIN && rule.expires_at <= Date.now() + 60 * MIN)

  const metrics = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(metrics, /gatewarden_rules_in_force\{[^}]*action="downgrade"[^}]*\} 1/)

  const first = await active(gw)
  const etag = first.headers['etag'] as string
  assert.equal(etag, set.version)
  assert.equal((await active(gw, { 'if-none-match': etag })).statusCode, 304)

  const detail = (await gw.app.inject({ method: 'GET', url: `/api/rules/${rule.id}` })).json<{
    rule: { state: string; reason: { kind: string; alert_type: string } }
    events: { kind: string; actor: string }[]
  }>()
  assert.equal(detail.rule.state, 'active')
  assert.equal(detail.rule.reason.alert_type, 'loop')
  assert.deepEqual(
    detail.events.map((e) => [e.kind, e.actor]),
    [['created', 'detector:loop']],
  )

  const lift = await gw.app.inject({ method: 'DELETE', url: `/api/rules/${rule.id}?by=alice` })
  assert.equal(lift.statusCode, 200)
  assert.equal(lift.json<{ state: string; ended_by: string }>().state, 'lifted')
  assert.equal(lift.json<{ ended_by: string }>().ended_by, 'manual:alice')
  const after = await active(gw, { 'if-none-match': etag })
  assert.equal(after.statusCode, 200, 'the set changed: a new version')
  assert.deepEqual(after.json<ActiveRules>().rules, [])

  // the same loop goes on (same incident): no new rule
  await postLoop(gw, 'key-looping', 3, 6)
  await settle(gw)
  assert.deepEqual((await active(gw)).json<ActiveRules>().rules, [])
  const all = (await gw.app.inject({ method: 'GET', url: '/api/rules?state=all' })).json<{
    rules: unknown[]
  }>()
  assert.equal(all.rules.length, 1)
  const audit = (await gw.app.inject({ method: 'GET', url: `/api/rules/${rule.id}` })).json<{
    events: { kind: string; actor: string }[]
  }>()
  assert.deepEqual(
    audit.events.map((e) => [e.kind, e.actor]),
    [
      ['created', 'detector:loop'],
      ['lifted', 'manual:alice'],
    ],
  )
})

test('the rule is lifted when its loop resolves; a manual rule expires at its time; both audited', async () => {
  const c = clock()
  const gw = await gatewarden({ mode: 'enforce' }, { now: c.now })
  await settle(gw)
  await postLoop(gw, 'key-a', 5)
  const loopRule = await until(
    'loop rule',
    async () => (await settle(gw), await active(gw)).json<ActiveRules>().rules[0],
  )

  const manual = await gw.app.inject({
    method: 'POST',
    url: '/api/rules',
    headers: json,
    payload: JSON.stringify({
      scope: { kind: 'customer', id: 'acme' },
      action: { action: 'block' },
      by: 'bob',
      why: 'runaway batch job',
      duration: '10m',
    }),
  })
  assert.equal(manual.statusCode, 201, manual.body)
  const manualId = manual.json<{ id: string }>().id
  const both = (await active(gw)).json<ActiveRules>().rules
  assert.deepEqual(
    both.map((r) => r.id),
    [manualId, loopRule.id],
    'blocks first',
  )

  c.advance(2 * MIN) // the loop is quiet for a whole window: it clears, held for loop.resolve_after (5m)
  await settle(gw)
  assert.deepEqual(
    (await active(gw)).json<ActiveRules>().rules.map((r) => r.id),
    [manualId, loopRule.id],
    'one incident: the rule stays while the alert waits out its hold',
  )
  c.advance(5 * MIN) // clear for 5 minutes: it resolves
  await settle(gw)
  const ids = (await active(gw)).json<ActiveRules>().rules.map((r) => r.id)
  assert.deepEqual(ids, [manualId])
  const lifted = (await gw.app.inject({ method: 'GET', url: `/api/rules/${loopRule.id}` })).json<{
    rule: { state: string; ended_by: string }
  }>()
  assert.deepEqual([lifted.rule.state, lifted.rule.ended_by], ['lifted', 'alert_resolved'])

  c.advance(4 * MIN) // 11 min after the manual rule: past its expiry
  assert.deepEqual((await active(gw)).json<ActiveRules>().rules, [], 'never served past expires_at')
  await settle(gw)
  const exp = (await gw.app.inject({ method: 'GET', url: `/api/rules/${manualId}` })).json<{
    rule: { state: string }
    events: { kind: string; actor: string }[]
  }>()
  assert.equal(exp.rule.state, 'expired')
  assert.deepEqual(
    exp.events.map((e) => [e.kind, e.actor]),
    [
      ['created', 'manual:bob'],
      ['expired', 'expiry'],
    ],
  )
})

test('dry run: the rule is recorded as dry_run and never served to gateways', async () => {
  const gw = await gatewarden({ mode: 'dry_run' })
  await settle(gw)
  await postLoop(gw, 'key-dry', 6)
  const rules = await until('dry-run rule', async () => {
    await settle(gw)
    const r = (await gw.app.inject({ method: 'GET', url: '/api/rules' })).json<{
      rules: { mode: string; state: string; scope: { id: string } }[]
    }>().rules
    return r.length > 0 ? r : undefined
  })
  assert.deepEqual(
    rules.map((r) => [r.mode, r.state, r.scope.id]),
    [['dry_run', 'active', 'key-dry']],
  )
  assert.deepEqual((await active(gw)).json<ActiveRules>().rules, [])
})

test('rules survive a restart and are served again at once', async () => {
  const dataDir = testDataDir()
  const database = `enf_restart_${process.pid}`
  const gw = await gatewarden({ mode: 'enforce' }, { dataDir, database })
  const made = await gw.app.inject({
    method: 'POST',
    url: '/api/rules',
    headers: json,
    payload: JSON.stringify({
      scope: { kind: 'team', id: 'research' },
      action: { action: 'downgrade', map: { '*': 'gpt-4o-mini' } },
      by: 'carol',
      why: 'over quota',
      expires_at: new Date(Date.now() + 30 * MIN).toISOString(),
    }),
  })
  assert.equal(made.statusCode, 201, made.body)
  const before = (await active(gw)).json<ActiveRules>()
  await gw.stop()
  running.splice(running.indexOf(gw), 1)
  const again = await gatewarden({ mode: 'enforce' }, { dataDir, database })
  const afterRestart = (await active(again)).json<ActiveRules>()
  assert.deepEqual(afterRestart.rules, before.rules)
  assert.equal(afterRestart.version, before.version)
})

test('bad input: clear 4xx with stable codes; enforcement off answers 404; the token guards the routes', async () => {
  const gw = await gatewarden({ mode: 'enforce', gateway_models: ['gpt-4o', 'gpt-4o-mini'] })
  const post = (payload: string) =>
    gw.app.inject({ method: 'POST', url: '/api/rules', headers: json, payload })
  const cases: Array<[string, string, number, string]> = [
    ['not JSON', '{', 400, 'GW_BAD_REQUEST'],
    [
      'no expiry',
      JSON.stringify({ scope: { kind: 'key', id: 'k' }, action: { action: 'block' }, by: 'x', why: 'y' }),
      400,
      'GW_BAD_REQUEST',
    ],
    [
      'unknown scope',
      JSON.stringify({
        scope: { kind: 'planet', id: 'k' },
        action: { action: 'block' },
        by: 'x',
        why: 'y',
        duration: '1m',
      }),
      400,
      'GW_BAD_REQUEST',
    ],
    [
      'unknown field',
      JSON.stringify({
        scope: { kind: 'key', id: 'k' },
        action: { action: 'block' },
        by: 'x',
        why: 'y',
        duration: '1m',
        extra: 1,
      }),
      400,
      'GW_BAD_REQUEST',
    ],
    [
      'widens access',
      JSON.stringify({
        scope: { kind: 'key', id: 'k' },
        action: { action: 'downgrade', map: { 'gpt-4o': 'o1-pro' } },
        by: 'x',
        why: 'y',
        duration: '1m',
      }),
      400,
      'GW_RULE_INVALID',
    ],
    [
      'in the past',
      JSON.stringify({
        scope: { kind: 'key', id: 'k' },
        action: { action: 'block' },
        by: 'x',
        why: 'y',
        expires_at: '2020-01-01T00:00:00Z',
      }),
      400,
      'GW_RULE_INVALID',
    ],
  ]
  for (const [name, body, status, code] of cases) {
    const res = await post(body)
    assert.equal(res.statusCode, status, `${name}: ${res.body}`)
    assert.equal(res.json<{ error: { code: string } }>().error.code, code, name)
  }
  const missing = await gw.app.inject({ method: 'DELETE', url: '/api/rules/rule_nope' })
  assert.equal(missing.statusCode, 404)
  assert.equal(missing.json<{ error: { code: string } }>().error.code, 'GW_RULE_NOT_FOUND')

  const off = await gatewarden({})
  const res = await off.app.inject({ method: 'GET', url: '/api/rules/active' })
  assert.equal(res.statusCode, 404)
  assert.equal(res.json<{ error: { code: string } }>().error.code, 'GW_ENFORCEMENT_OFF')

  const guarded = await gatewarden({ mode: 'enforce' }, { token: 'tok-0123456789abcdef' })
  for (const [method, url] of [
    ['GET', '/api/rules/active'],
    ['GET', '/api/rules'],
    ['POST', '/api/rules'],
    ['DELETE', '/api/rules/x'],
  ] as const) {
    assert.equal((await guarded.app.inject({ method, url })).statusCode, 401, `${method} ${url}`)
  }
  const ok = await guarded.app.inject({
    method: 'GET',
    url: '/api/rules/active',
    headers: { authorization: 'Bearer tok-0123456789abcdef' },
  })
  assert.equal(ok.statusCode, 200)
})
