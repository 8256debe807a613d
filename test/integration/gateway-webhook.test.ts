import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import { verifyWebhookSignature } from '../../adapters/alerts/webhook-signature.js'
import { DELIVERY_HEADER, WebhookTarget } from '../../adapters/gateway/webhook-target.js'
import { startAlertListener, type ReceivedRequest } from '../support/alert-listener.js'
import { instantClock, makeRule } from '../support/rules.js'

const log = pino({ level: 'silent' })
const SECRET = 'whsec-test-secret'
const retry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, deadlineMs: 60_000 }
const target = (url: string) =>
  new WebhookTarget('ops', url, SECRET, { timeoutMs: 5_000, retry, clock: instantClock }, log)

const verified = (r: ReceivedRequest) =>
  verifyWebhookSignature({
    secret: SECRET,
    body: r.body,
    signature: r.headers['x-gatewarden-signature'],
    timestamp: r.headers['x-gatewarden-timestamp'],
  })

test('apply and remove post signed { event, rule } with a stable delivery id', async () => {
  const rx = await startAlertListener()
  try {
    const t = target(`${rx.url}/hooks/rules`)
    assert.equal(t.name, 'webhook:ops')
    const rule = makeRule({ scope: { kind: 'agent', id: 'nightly' } })
    assert.equal(t.supports(rule), true)
    assert.deepEqual(await t.apply(rule), { ok: true, answer: '200 rule.applied' })
    assert.deepEqual(await t.apply(rule), { ok: true, answer: '200 rule.applied' })
    assert.deepEqual(await t.remove(rule), { ok: true, answer: '200 rule.removed' })
    assert.equal(rx.requests.length, 3)
    for (const r of rx.requests) {
      assert.equal(r.method, 'POST')
      assert.equal(r.url, '/hooks/rules')
      assert.deepEqual(verified(r), { ok: true })
      assert.equal(r.headers['content-type'], 'application/json')
    }
    const [a1, a2, rm] = rx.requests.map((r) => ({
      id: r.headers[DELIVERY_HEADER],
      key: r.headers['idempotency-key'],
      body: JSON.parse(r.body.toString('utf8')),
    }))
    assert.equal(a1!.id, `rule-1:rule.applied:${rule.expires_at}`)
    assert.equal(a1!.id, a2!.id, 'a re-drive carries the same delivery id')
    assert.equal(a1!.key, a1!.id)
    assert.notEqual(rm!.id, a1!.id)
    assert.deepEqual(a1!.body, { event: 'rule.applied', rule })
    assert.deepEqual(rm!.body, { event: 'rule.removed', rule })
    // an extension is news for the receiver: a new delivery id
    await t.apply({ ...rule, expires_at: rule.expires_at + 60_000 })
    assert.notEqual(rx.requests[3]!.headers[DELIVERY_HEADER], a1!.id)
    // a tampered body fails the receiver's check
    const first = rx.requests[0]!
    const tampered = { ...first, body: Buffer.from(first.body.toString('utf8').replace('nightly', 'evil')) }
    assert.deepEqual(verified(tampered), { ok: false, reason: 'mismatch' })
  } finally {
    await rx.close()
  }
})

test('receiver refusing, then answering 503, then up: retryable failures, then success', async () => {
  // a port nothing listens on (yet)
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))

  const t = target(`http://127.0.0.1:${port}/rules`)
  const rule = makeRule()
  const down = await t.apply(rule)
  assert.equal(down.ok, false)
  if (!down.ok) {
    assert.equal(down.retryable, true)
    assert.equal(down.code, 'GW_TARGET_UNREACHABLE')
    assert.match(down.message, /ECONNREFUSED/)
    assert.ok(!down.message.includes(SECRET))
  }

  let up = false
  const rx = await startAlertListener(
    () => (up ? { status: 204 } : { status: 503, body: 'maintenance' }),
    port,
  )
  try {
    const busy = await t.apply(rule)
    assert.equal(busy.ok, false)
    if (!busy.ok) {
      assert.equal(busy.retryable, true)
      assert.equal(busy.code, 'GW_TARGET_HTTP')
      assert.equal(busy.answer, '503: maintenance')
    }
    assert.equal(rx.requests.length, retry.maxAttempts, 'each push retried under the shared policy')
    up = true
    assert.deepEqual(await t.apply(rule), { ok: true, answer: '204 rule.applied' })
    const ids = new Set(rx.requests.map((r) => r.headers[DELIVERY_HEADER]))
    assert.equal(ids.size, 1, 'every attempt and re-drive is the same delivery')
    assert.ok(rx.requests.every((r) => verified(r).ok))
  } finally {
    await rx.close()
  }
})

test('a 4xx is a failure that retrying will not fix; Retry-After on 429 stays retryable', async () => {
  const rx = await startAlertListener((_r, n) =>
    n === 1 ? { status: 400, body: 'bad rule' } : { status: 429, headers: { 'retry-after': '0' } },
  )
  try {
    const t = target(rx.url)
    const bad = await t.apply(makeRule())
    assert.deepEqual(bad.ok ? null : [bad.retryable, bad.code, bad.answer], [
      false,
      'GW_TARGET_HTTP',
      '400: bad rule',
    ])
    assert.equal(rx.requests.length, 1)
    const limited = await t.remove(makeRule())
    assert.deepEqual(limited.ok ? null : [limited.retryable, limited.answer], [true, '429'])
  } finally {
    await rx.close()
  }
})
