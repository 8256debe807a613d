import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import { litellmPayload } from '../support/events.js'
import { silentLog } from '../support/store.js'
import { startSmtpSink } from '../support/smtp-sink.js'

type ApiAlert = {
  id: string
  type: string
  state: string
  severity: string
  scope: { kind: string; id: string }
  summary: string
  details: Record<string, unknown>
}

const dataDir = mkdtempSync(join(tmpdir(), 'gw-detect-'))
const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop()
})

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

test('events into /ingest/litellm -> loop and budget alerts in /api/alerts -> delivered by mail; a restart neither re-fires nor re-sends', async () => {
  const smtp = await startSmtpSink()
  try {
    const config = Config.parse({
      server: { port: 0 },
      store: { data_dir: dataDir },
      writer: { max_batch_wait_ms: 5 },
      budgets: [{ name: 'acme-monthly', scope: { customer: 'acme' }, limit_usd: 1, period: 'month' }],
      detectors: { tick: '200ms', allowed_lateness: '0s', loop: { threshold: 5, window: '60s' } },
      alerts: {
        channels: [
          {
            type: 'email',
            smtp_url: `smtp://127.0.0.1:${smtp.port}`,
            from: 'gatewarden@example.test',
            to: ['oncall@example.test'],
          },
        ],
        group_window: '500ms',
        public_url: 'http://gatewarden.example.test',
      },
    })
    let gw = await start(config, silentLog)
    running.push(gw)
    const post = async (body: unknown) => {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/ingest/litellm',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      })
      assert.equal(res.statusCode, 200, res.body)
    }
    const alerts = async () =>
      (await gw.app.inject({ method: 'GET', url: '/api/alerts' })).json<{ alerts: ApiAlert[] }>().alerts

    // a loop: the same request 6 times from one key within seconds; plus acme spending 1.2 x its budget
    const t0 = Date.now()
    const loopCalls = Array.from({ length: 6 }, (_, i) => {
      const p = litellmPayload({
        id: `loop-${i}`,
        customer: 'globex',
        cost: 0.01,
        ts: t0 + i * 100,
        key: 'key-looping',
      })
      p.messages = [{ role: 'user', content: 'summarise ticket 4711 again' }]
      return p
    })
    await post(loopCalls)
    await post(
      Array.from({ length: 4 }, (_, i) =>
        litellmPayload({ id: `spend-${i}`, customer: 'acme', cost: 0.3, ts: t0 + i }),
      ),
    )

    const fired = await until('loop and budget alerts', async () => {
      const a = await alerts()
      const loop = a.find((x) => x.type === 'loop' && x.state === 'firing' && x.scope.kind === 'key')
      const budget = a.find(
        (x) => x.type === 'budget_exhaustion' && x.state === 'firing' && x.details.threshold === 1,
      )
      return loop && budget ? { loop, budget } : undefined
    })
    assert.equal(fired.loop.scope.kind, 'key')
    assert.equal(fired.loop.scope.id, 'key-looping')
    assert.match(fired.loop.summary, /6|repeat/i)
    assert.equal(fired.budget.scope.id, 'acme')

    const mails = await until('mail for both alerts', async () => {
      const text = smtp.received.map((m) => `${m.mail.subject ?? ''}\n${m.mail.text ?? ''}`).join('\n')
      return /loop/i.test(text) && /acme/.test(text) ? smtp.received : undefined
    })
    assert.deepEqual(mails[0]!.envelope.to, ['oncall@example.test'])
    assert.ok(
      mails.every((m) => typeof m.mail.html === 'string' && m.mail.html.length > 0),
      'html part',
    )
    // every change this instance made is delivered before the count is taken: an alert that fired a moment
    // later (loops fire on arrival, budgets on the tick) would otherwise be mailed after the snapshot
    await gw.engine.tick()
    await gw.dispatcher.flush()
    assert.equal(gw.dispatcher.pending, 0, 'nothing waiting in the outbox before the restart')
    const sentBefore = smtp.received.length
    const firingIds = (await alerts())
      .filter((a) => a.state === 'firing')
      .map((a) => a.id)
      .sort()

    // restart on the same data: same alerts still firing, nothing re-fired, no new mail
    await gw.stop()
    running.pop()
    gw = await start(config, silentLog)
    running.push(gw)
    // the restarted instance restored its state, leads the budgets and has run a full evaluation round
    // (budgets from the store, dispatch) with every delivery settled: a re-fire or re-send would show now
    await until('the restarted instance to lead the budgets', async () =>
      gw.engine.isBudgetLeader ? true : undefined,
    )
    await gw.engine.tick()
    await gw.dispatcher.flush()
    assert.equal(gw.dispatcher.pending, 0, 'nothing waiting in the outbox')
    const afterRestart = await alerts()
    assert.deepEqual(
      afterRestart
        .filter((a) => a.state === 'firing')
        .map((a) => a.id)
        .sort(),
      firingIds,
      JSON.stringify(afterRestart.map((a) => [a.type, a.state, a.scope, a.summary])),
    )
    assert.equal(smtp.received.length, sentBefore, 'no notification re-sent after restart')
  } finally {
    await smtp.close()
  }
})

test('the built-in alerts page lists the alerts, escaped, and alert links point at it', async () => {
  const gw = running.at(-1)!
  const api = (await gw.app.inject({ method: 'GET', url: '/api/alerts?state=firing' })).json<{
    alerts: Array<ApiAlert & { links: { page?: string } }>
  }>()
  assert.ok(api.alerts.length > 0)
  const first = api.alerts[0]!
  assert.equal(first.links.page, `http://gatewarden.example.test/alerts#${first.id}`)
  const page = await gw.app.inject({ method: 'GET', url: '/alerts' })
  assert.equal(page.statusCode, 200)
  assert.match(page.headers['content-type'] as string, /text\/html/)
  assert.ok(page.body.includes(`id="${first.id}"`))
  assert.ok(page.body.includes('firing'))
  assert.ok(!/<script/i.test(page.body))
})

test('live: a loop of slow calls (arriving 40 s after they started) still fires', async () => {
  const gw = await start(
    Config.parse({
      server: { port: 0 },
      store: { data_dir: dataDir, database: 'slowcalls' },
      writer: { max_batch_wait_ms: 5 },
      detectors: { tick: '200ms' },
    }),
    silentLog,
  )
  running.push(gw)
  const now = Date.now()
  for (let i = 0; i < 6; i++) {
    // each call started 40 s before it is reported (a long completion), one after another
    const p = litellmPayload({
      id: `slow-${i}`,
      customer: 'globex',
      cost: 0.02,
      ts: now - 40_000 + i * 2_000,
      key: 'key-slow',
    })
    p.endTime = (now + i * 2_000) / 1000
    p.messages = [{ role: 'user', content: 'draft the quarterly report' }]
    const res = await gw.app.inject({
      method: 'POST',
      url: '/ingest/litellm',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify([p]),
    })
    assert.equal(res.statusCode, 200)
  }
  const loop = await until('the loop alert', async () => {
    const a = (await gw.app.inject({ method: 'GET', url: '/api/alerts?type=loop&state=firing' })).json<{
      alerts: ApiAlert[]
    }>().alerts
    return a.find((x) => x.scope.kind === 'key' && x.scope.id === 'key-slow')
  })
  assert.match(loop.summary, /key-slow/)
})
