import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Config } from '../../schemas/config.js'
import type { ActiveRules } from '../../schemas/rule.js'
import { start, type Running } from '../../services/start.js'
import { killHard, spawnGatewarden } from '../support/gatewarden-process.js'
import { callUntil, chat, type ChatAnswer } from '../support/guardrail-client.js'
import { startLiteLLM, type LiteLLMProxy } from '../support/litellm-proxy.js'
import { rows, silentLog, testDataDir } from '../support/store.js'
import { until } from '../support/until.js'

// The guardrail end to end: the real LiteLLM proxy (config-only, mock gpt-4o / gpt-4o-mini) logs every
// call to Gatewarden (generic_api) and runs the Gatewarden hook (integrations/litellm/gatewarden_guardrail.py),
// which polls /api/rules/active. Gatewarden runs on one fixed port, restarted with another config per
// scenario, so the one proxy follows it.

const TOKEN = 'guardrail-e2e-token-0123456789'
const auth = { authorization: `Bearer ${TOKEN}` }
let port = 0
let proxy: LiteLLMProxy
let gw: Running | undefined
const latencies: number[] = []

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
}

before(async () => {
  port = await freePort()
  // with a token on Gatewarden: the logger and the hook both send it (GENERIC_LOGGER_HEADERS, GATEWARDEN_AUTH_TOKEN)
  proxy = startLiteLLM(
    `http://127.0.0.1:${port}`,
    { LITELLM_CALLBACKS: 'gatewarden', GATEWARDEN_INGEST_TOKEN: TOKEN },
    { guardrail: true },
  )
})
after(async () => {
  await gw?.stop()
  proxy?.stop()
})

const DOWNGRADE = { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } }

/** Gatewarden in this process on the fixed port, replacing the previous one. */
async function gatewarden(over: Record<string, unknown>): Promise<Running> {
  await gw?.stop()
  gw = await start(
    Config.parse({
      server: { port, auth_token: TOKEN },
      store: { data_dir: testDataDir(), database: `guard_${process.pid}_${Date.now()}` },
      writer: { max_batch_wait_ms: 5 },
      ...over,
      detectors: {
        tick: '1s',
        allowed_lateness: '1s',
        loop: { threshold: 5, window: '60s', scope: ['agent'], action: DOWNGRADE },
        ...(over.detectors as object),
      },
    }),
    silentLog,
  )
  return gw
}

const loopCall = (agent: string) => () =>
  chat(
    proxy,
    { model: 'gpt-4o', messages: [{ role: 'user', content: 'Summarise ticket 4711 again' }] },
    { 'x-agent-name': agent },
  )

async function activeRules(g: Running): Promise<ActiveRules> {
  return (await g.app.inject({ method: 'GET', url: '/api/rules/active', headers: auth })).json<ActiveRules>()
}

test(
  'dry run: a loop through LiteLLM records the rule it would make and pushes nothing',
  { timeout: 300_000 },
  async () => {
    const g = await gatewarden({ enforcement: { mode: 'dry_run' } })
    const answers: ChatAnswer[] = []
    const rule = await until(
      'the dry-run rule',
      async () => {
        answers.push(await loopCall('looper-dry')())
        const r = (await g.app.inject({ method: 'GET', url: '/api/rules?state=all', headers: auth })).json<{
          rules: { mode: string; scope: { kind: string; id: string }; action: object }[]
        }>().rules
        return r[0]
      },
      90_000,
    )
    assert.equal(rule.mode, 'dry_run')
    assert.deepEqual(rule.scope, { kind: 'agent', id: 'looper-dry' })
    assert.deepEqual(rule.action, DOWNGRADE)
    // a few more calls after the rule exists: still served by gpt-4o
    for (let i = 0; i < 3; i++) answers.push(await loopCall('looper-dry')())
    assert.deepEqual(new Set(answers.map((a) => a.servedBy)), new Set(['gpt-4o']))
    assert.deepEqual((await activeRules(g)).rules, [])
  },
)

test(
  'a loop through LiteLLM is downgraded to gpt-4o-mini, the events carry the rule id; lifting the rule restores gpt-4o',
  { timeout: 300_000 },
  async (t) => {
    const g = await gatewarden({ enforcement: { mode: 'enforce' } })
    for (const run of [1, 2, 3]) {
      const agent = `looper-${run}`
      const answers = await callUntil(
        loopCall(agent),
        (a) => a.servedBy === 'gpt-4o-mini',
        `downgrade of ${agent}`,
        120,
      )
      assert.ok(answers.every((a) => a.status === 200))
      latencies.push(answers.at(-1)!.at - answers[0]!.at)
      assert.ok(answers.length > 5, 'the loop needs 5 calls before it is one')
    }
    t.diagnostic(
      `first request of a loop -> first downgraded response through LiteLLM (ms): ${latencies.join(', ')}`,
    )
    const [rule] = (await activeRules(g)).rules.filter((r) => r.scope.id === 'looper-1')
    assert.ok(rule, 'the rule of looper-1 is active')
    assert.deepEqual(rule.scope, { kind: 'agent', id: 'looper-1' })

    // what Gatewarden received: the downgraded calls, logged by LiteLLM as gpt-4o-mini with the rule id
    const logged = await until('the downgraded calls logged', async () => {
      const r = await rows<{ model_requested: string; rule: string; asked: string; fingerprint: string }>(
        g.store,
        `SELECT model_requested, metadata['gatewarden_rule_id'] AS rule, metadata['gatewarden_model_requested'] AS asked, fingerprint
       FROM {{db}}.requests WHERE agent = 'looper-1' ORDER BY ts`,
      )
      return r.some((x) => x.rule !== '') ? r : undefined
    })
    const tagged = logged.filter((x) => x.rule !== '')
    assert.ok(
      tagged.every((x) => x.rule === rule.id && x.model_requested === 'gpt-4o-mini' && x.asked === 'gpt-4o'),
    )
    assert.equal(
      new Set(logged.map((x) => x.fingerprint)).size,
      1,
      'downgraded calls keep the loop fingerprint',
    )

    // lift by hand: gpt-4o again while the loop goes on (lifted for the rest of the incident)
    const lift = await g.app.inject({
      method: 'DELETE',
      url: `/api/rules/${rule.id}?by=oncall`,
      headers: auth,
    })
    assert.equal(lift.statusCode, 200)
    const back = await callUntil(
      loopCall('looper-1'),
      (a) => a.servedBy === 'gpt-4o',
      'gpt-4o after the lift',
      60,
    )
    assert.equal(back.at(-1)!.status, 200)
    for (let i = 0; i < 3; i++) assert.equal((await loopCall('looper-1')()).servedBy, 'gpt-4o')

    // expiry: a manual downgrade of 4 s on a customer, then gpt-4o again
    const made = await g.app.inject({
      method: 'POST',
      url: '/api/rules',
      headers: { 'content-type': 'application/json', ...auth },
      payload: JSON.stringify({
        scope: { kind: 'customer', id: 'cust-exp' },
        action: DOWNGRADE,
        by: 'oncall',
        why: 'test expiry',
        duration: '4s',
      }),
    })
    assert.equal(made.statusCode, 201, made.body)
    const expiresAt = Date.parse(made.json<{ expires_at: string }>().expires_at)
    const custCall = () =>
      chat(proxy, {
        model: 'gpt-4o',
        messages: [{ role: 'user', content: `hi ${Math.random()}` }],
        user: 'cust-exp',
      })
    await callUntil(custCall, (a) => a.servedBy === 'gpt-4o-mini', 'the manual downgrade', 60)
    const restored = await callUntil(custCall, (a) => a.servedBy === 'gpt-4o', 'gpt-4o after expiry', 200)
    assert.ok(restored.at(-1)!.at >= expiresAt - 1000, 'not lifted before its expiry')
  },
)

test(
  'an exhausted customer budget blocks the customer at LiteLLM with a 429 naming the rule; other customers pass',
  { timeout: 300_000 },
  async () => {
    const g = await gatewarden({
      enforcement: { mode: 'enforce' },
      budgets: [
        {
          name: 'budget-tiny',
          scope: { customer: 'cust-budget' },
          limit_usd: 0.00001,
          period: 'day',
          on_exhausted: { action: 'block' },
        },
      ],
    })
    const call = (user: string) => () =>
      chat(proxy, { model: 'gpt-4o', messages: [{ role: 'user', content: `q ${Math.random()}` }], user })
    const answers = await callUntil(
      call('cust-budget'),
      (a) => a.status === 429,
      'the budget block',
      120,
      300,
    )
    const blocked = answers.at(-1)!
    const [rule] = (await activeRules(g)).rules
    assert.ok(rule, 'a rule is active')
    assert.deepEqual(rule.scope, { kind: 'customer', id: 'cust-budget' })
    assert.deepEqual(rule.action, { action: 'block' })
    assert.ok(blocked.error.includes(rule.id), blocked.error)
    assert.match(blocked.error, /budget-tiny/)
    assert.match(blocked.error, /Expires at/)
    assert.equal((await call('cust-other')()).status, 200)
    const detail = (await g.app.inject({ method: 'GET', url: `/api/rules/${rule.id}`, headers: auth })).json<{
      rule: { reason: { alert_type: string } }
    }>()
    assert.equal(detail.rule.reason.alert_type, 'budget_exhaustion')
  },
)

test('a zombie agent working off hours is blocked at LiteLLM', { timeout: 300_000 }, async () => {
  const h = (new Date().getUTCHours() + 2) % 24
  const hh = String(h).padStart(2, '0')
  const g = await gatewarden({
    enforcement: { mode: 'enforce' },
    detectors: {
      zombie: {
        business_hours: { days: 'mon-sun', from: `${hh}:00`, to: `${hh}:30` },
        min_requests: 4,
        min_spend_usd: 1000,
        action: { action: 'block' },
      },
    },
  })
  const call = (agent: string) => () =>
    chat(
      proxy,
      { model: 'gpt-4o', messages: [{ role: 'user', content: `crawl page ${Math.random()}` }] },
      { 'x-agent-name': agent },
    )
  const answers = await callUntil(
    call('night-crawler'),
    (a) => a.status === 429,
    'the zombie block',
    120,
    300,
  )
  const [rule] = (await activeRules(g)).rules
  assert.deepEqual(rule?.scope, { kind: 'agent', id: 'night-crawler' })
  assert.ok(answers.at(-1)!.error.includes(rule.id))
  assert.equal(
    (await chat(proxy, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }], user: 'someone' }))
      .status,
    200,
  )
})

test(
  'Gatewarden killed: traffic still flows; a block the hook holds lasts until it expires, then lifts',
  { timeout: 300_000 },
  async () => {
    await gw?.stop()
    gw = undefined
    const work = mkdtempSync(join(tmpdir(), 'gw-guard-kill-'))
    const configFile = join(work, 'gatewarden.yaml')
    writeFileSync(configFile, 'enforcement:\n  mode: enforce\n')
    const child = await spawnGatewarden({
      PORT: String(port),
      GATEWARDEN_CONFIG: configFile,
      GATEWARDEN_DATA_DIR: join(work, 'data'),
      GATEWARDEN_AUTH_TOKEN: TOKEN,
    })
    try {
      const made = await fetch(`${child.url}/api/rules`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({
          scope: { kind: 'customer', id: 'cust-kill' },
          action: { action: 'block' },
          by: 'oncall',
          why: 'kill test',
          duration: '12s',
        }),
      })
      assert.equal(made.status, 201)
      const expiresAt = Date.parse(((await made.json()) as { expires_at: string }).expires_at)
      const call = (user: string) => () =>
        chat(proxy, { model: 'gpt-4o', messages: [{ role: 'user', content: `x ${Math.random()}` }], user })
      await callUntil(call('cust-kill'), (a) => a.status === 429, 'the block before the kill', 60)
      await killHard(child)
      assert.equal((await call('cust-free')()).status, 200, 'traffic flows with Gatewarden dead')
      const held = await call('cust-kill')()
      if (held.at < expiresAt - 1000) assert.equal(held.status, 429, 'the hook holds the block it has')
      const lifted = await callUntil(
        call('cust-kill'),
        (a) => a.status === 200,
        'the block lifted at expiry',
        200,
        250,
      )
      assert.ok(lifted.at(-1)!.at >= expiresAt - 1000, 'not lifted before its expiry')
    } finally {
      await killHard(child)
    }
  },
)
