import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { verifyWebhookSignature } from '../../adapters/alerts/webhook-signature.js'
import type { RuleWebhookBody } from '../../adapters/gateway/webhook-target.js'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import { startAlertListener, type ReceivedRequest } from '../support/alert-listener.js'
import { silentLog, testDataDir } from '../support/store.js'
import { until } from '../support/until.js'

const SECRET = 'rule-webhook-secret-for-tests'
process.env.GW_TEST_RULE_WEBHOOK_SECRET = SECRET
const cleanup: Array<() => Promise<void>> = []
after(async () => {
  for (const c of cleanup.reverse()) await c()
})

test('webhook target: signed rule.applied / rule.removed; a receiver that is down gets the rule later, once', async () => {
  let down = true
  const receiver = await startAlertListener(() =>
    down ? { status: 503, body: 'down' } : { status: 200, body: 'ok' },
  )
  cleanup.push(() => receiver.close())
  const gw: Running = await start(
    Config.parse({
      server: { port: 0 },
      store: { data_dir: testDataDir(), database: `enf_hook_${process.pid}` },
      detectors: { tick: '1h' },
      enforcement: {
        mode: 'enforce',
        tick: '1h',
        targets: [
          {
            type: 'webhook',
            name: 'bifrost',
            url: `${receiver.url}/rules`,
            secret_env: 'GW_TEST_RULE_WEBHOOK_SECRET',
            timeout: '2s',
          },
        ],
      },
    }),
    silentLog,
  )
  cleanup.push(() => gw.stop())
  await gw.engine.tick() // leader
  const made = await gw.app.inject({
    method: 'POST',
    url: '/api/rules',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      scope: { kind: 'endpoint', id: 'search' },
      action: { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } },
      by: 'dana',
      why: 'search is over budget',
      duration: '30m',
    }),
  })
  assert.equal(made.statusCode, 201, made.body)
  const id = made.json<{ id: string; state: string }>().id
  assert.equal(made.json<{ state: string }>().state, 'pending')
  const detail = async () =>
    (await gw.app.inject({ method: 'GET', url: `/api/rules/${id}` })).json<{
      rule: {
        state: string
        targets: { target: string; state: string; attempts: number; last_error: string | null }[]
      }
      events: { kind: string; target: string; answer: string }[]
    }>()
  const failed = await until('the failed push recorded', async () => {
    const d = await detail()
    return d.events.some((e) => e.kind === 'apply_failed') && d.rule.targets[0]?.last_error ? d : undefined
  })
  assert.equal(failed.rule.state, 'pending', 'still owed')
  assert.equal(failed.rule.targets[0]!.target, 'webhook:bifrost')
  assert.match(failed.rule.targets[0]!.last_error ?? '', /503/)
  const refused = receiver.requests.length
  assert.ok(refused >= 1)

  down = false
  await gw.enforcer!.tick()
  await gw.enforcer!.flush()
  const ok = await detail()
  assert.equal(ok.rule.state, 'active')
  assert.equal(ok.rule.targets[0]!.state, 'applied')
  const applied = receiver.requests.slice(refused)
  assert.equal(applied.length, 1, 'delivered once when the receiver is back')
  const check = (r: ReceivedRequest, event: string) => {
    const v = verifyWebhookSignature({
      secret: SECRET,
      body: r.body,
      signature: r.headers['x-gatewarden-signature'],
      timestamp: r.headers['x-gatewarden-timestamp'],
    })
    assert.deepEqual(v, { ok: true })
    const body = JSON.parse(r.body.toString('utf8')) as RuleWebhookBody
    assert.equal(body.event, event)
    assert.equal(body.rule.id, id)
    return r.headers['x-gatewarden-delivery']
  }
  const deliveryOfApply = check(applied[0]!, 'rule.applied')
  // every attempt of the same push carries the same delivery id (receivers drop repeats)
  for (const r of receiver.requests.slice(0, refused))
    assert.equal(r.headers['x-gatewarden-delivery'], deliveryOfApply)

  // nothing more is owed: another round sends nothing
  await gw.enforcer!.tick()
  await gw.enforcer!.flush()
  assert.equal(receiver.requests.length, refused + 1)

  const lift = await gw.app.inject({ method: 'DELETE', url: `/api/rules/${id}?by=dana` })
  assert.equal(lift.statusCode, 200)
  await gw.enforcer!.flush()
  assert.equal(receiver.requests.length, refused + 2)
  check(receiver.requests.at(-1)!, 'rule.removed')
  const end = await detail()
  assert.equal(end.rule.targets[0]!.state, 'removed')
  assert.deepEqual(
    end.events.map((e) => e.kind),
    ['created', 'apply_failed', 'applied', 'lifted', 'removed'],
  )
})
