import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { pino } from 'pino'
import type { Alert, Notification } from '../../core/alerts/alert.js'
import { AlertDeliveryError } from '../../core/alerts/delivery-error.js'
import {
  renderPagerDutyEvents,
  renderSlack,
  renderWebhookBody,
  WebhookBody,
} from '../../core/alerts/render.js'
import type { AlertSender, DeliveryReceipt } from '../../core/alerts/sender.js'
import { systemClock, withRetry, type AttemptOutcome, type RetryPolicy } from '../../core/retry.js'
import { AlertChannel } from '../../schemas/policy.js'
import { createAlertSenders, type SenderDeps } from '../../adapters/alerts/channel-factory.js'
import { verifyWebhookSignature } from '../../adapters/alerts/webhook-signature.js'
import { startAlertListener, type AlertListener } from '../support/alert-listener.js'
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../support/smtp-sink.js'

const log = pino({ level: 'silent' })
const SECRETS: Record<string, string> = {
  SMTP_PASSWORD: 's3cr3t-smtp-Passw0rd',
  SLACK_URL: '', // set per test: the listener URL with a secret path
  HOOK_SECRET: 'whsec-4f1c0ffee-topsecret',
  PD_KEY: 'R0UT1NGKEY0123456789abcdefABCDEF',
}
const SLACK_PATH = '/services/T0000/B0000/XoXoSlackToken123'
const deps = (over: Partial<SenderDeps> = {}): SenderDeps => ({
  secrets: (k) => SECRETS[k],
  log,
  timeoutMs: 2_000,
  ...over,
})
const fast: RetryPolicy = { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 1_000, deadlineMs: 20_000 }

const closers: Array<() => Promise<void>> = []
after(async () => {
  for (const c of closers.reverse()) await c()
})
async function listener(answer?: AlertListener['answer']): Promise<AlertListener> {
  const l = await startAlertListener(answer)
  closers.push(() => l.close())
  return l
}
async function smtp(
  opts: Parameters<typeof startSmtpSink>[0] = {},
  received?: ReceivedMail[],
): Promise<SmtpSink> {
  const s = await startSmtpSink(opts, received)
  closers.push(() => s.close())
  return s
}
function sender(channel: unknown, over: Partial<SenderDeps> = {}): AlertSender {
  const s = createAlertSenders([AlertChannel.parse(channel)], deps(over))[0]!
  closers.push(() => s.shutdown())
  return s
}

const t0 = Date.parse('2026-11-24T12:00:00Z')
const burn: Alert = {
  id: 'a-burn',
  dedupe_key: 'burn_rate|customer:acme|acme-monthly',
  type: 'burn_rate',
  severity: 'page',
  state: 'firing',
  scope: { kind: 'customer', id: 'acme' },
  started_at: t0,
  resolved_at: null,
  updated_at: t0,
  summary: 'acme burns its $500 budget 15x too fast <b>now</b> & "soon"',
  details: { burn_rate: 15.2, remaining_usd: 120.5 },
  links: { page: 'https://gw.example.com/alerts/a-burn' },
}
const loop: Alert = {
  ...burn,
  id: 'a-loop',
  dedupe_key: 'loop|key:k1|fp9',
  type: 'loop',
  severity: 'ticket',
  scope: { kind: 'key', id: 'k1' },
  summary: 'key k1 sent one request 12 times in 60 s',
  details: { repeats: 12 },
  links: {},
}
let seq = 0
const notif = (alerts: Alert[], kind: Notification['kind'] = 'firing', channel = 'x'): Notification => ({
  id: `ntf_test_${++seq}`,
  channel,
  kind,
  alerts,
  created_at: t0 + 30_000,
})

/** Drives a sender through the one retry policy, recording each attempt's outcome. */
async function deliver(s: AlertSender, n: Notification, onRetry?: (attempt: number) => Promise<void> | void) {
  const outcomes: Array<AttemptOutcome<DeliveryReceipt>> = []
  const delays: number[] = []
  const pendingHooks: Array<Promise<void>> = []
  const result = await withRetry(
    async () => {
      await Promise.all(pendingHooks.splice(0))
      const o = await s.send(n)
      outcomes.push(o)
      return o
    },
    fast,
    systemClock,
    ({ attempt, delayMs }) => {
      delays.push(delayMs)
      if (onRetry) pendingHooks.push(Promise.resolve(onRetry(attempt)))
    },
  ).then(
    (receipt) => ({ receipt, error: undefined }),
    (error: unknown) => ({ receipt: undefined, error }),
  )
  return { ...result, outcomes, delays }
}

/** No secret anywhere in what an error carries: message, stack, causes, own fields. */
function assertNoSecrets(err: unknown): void {
  const seen = [inspect(err, { depth: 20, showHidden: true }), JSON.stringify(err), String(err)].join('\n')
  for (const s of [...Object.values(SECRETS), SLACK_PATH, 'XoXoSlackToken123'].filter(Boolean)) {
    assert.ok(!seen.includes(s), `secret ${s.slice(0, 4)}… leaked: ${seen}`)
  }
}

test('email: delivered to a real SMTP server with auth, parsed back (subject, text, HTML, recipients)', async () => {
  const sink = await smtp({ auth: { user: 'alerts', pass: SECRETS.SMTP_PASSWORD! } })
  const s = sender({
    type: 'email',
    name: 'oncall-mail',
    smtp_url: `smtp://alerts@127.0.0.1:${sink.port}`,
    smtp_password_env: 'SMTP_PASSWORD',
    from: 'Gatewarden <gatewarden@example.com>',
    to: ['oncall@example.com', 'finops@example.com'],
  })
  const n = notif([burn, loop])
  const out = await s.send(n)
  assert.equal(out.kind, 'success', inspect(out))
  assert.equal(out.kind === 'success' && out.value.status, 250)
  assert.equal(sink.received.length, 1)
  const got = sink.received[0]!
  assert.equal(got.user, 'alerts')
  assert.deepEqual(got.envelope, {
    from: 'gatewarden@example.com',
    to: ['oncall@example.com', 'finops@example.com'],
  })
  const m = got.mail
  assert.equal(m.subject, '[Gatewarden] FIRING [page] 2 burn_rate, loop alerts')
  assert.deepEqual(m.from?.value, [{ address: 'gatewarden@example.com', name: 'Gatewarden' }])
  const to = Array.isArray(m.to) ? m.to : [m.to]
  assert.deepEqual(
    to.flatMap((a) => a?.value.map((v) => v.address)),
    ['oncall@example.com', 'finops@example.com'],
  )
  assert.equal(m.messageId, `<${n.id}@example.com>`)
  assert.equal(m.headers.get('x-gatewarden-notification'), n.id)
  assert.match(m.text ?? '', /^FIRING \[page\]: 2 burn_rate, loop alerts\n/)
  assert.match(
    m.text ?? '',
    /1\. \[page\] customer acme: acme burns its \$500 budget 15x too fast <b>now<\/b> & "soon"\n/,
  )
  assert.match(m.text ?? '', / {3}remaining_usd: 120\.5\n/)
  assert.match(m.text ?? '', /2\. \[ticket\] key k1: key k1 sent one request 12 times in 60 s\n/)
  const html = typeof m.html === 'string' ? m.html : ''
  assert.match(
    html,
    /<h3>acme burns its \$500 budget 15x too fast &lt;b&gt;now&lt;\/b&gt; &amp; &quot;soon&quot;<\/h3>/,
  )
  assert.doesNotMatch(html, /<b>now/)
  assert.match(html, /<a href="https:\/\/gw\.example\.com\/alerts\/a-burn">Gatewarden<\/a>/)
})

test('email: 4xx reply retryable, 5xx reply a failure (not retried); the password never shows', async () => {
  const sink = await smtp({
    rejectRcpt: (a) =>
      a.address.startsWith('busy')
        ? { code: 450, message: 'mailbox busy, try later' }
        : a.address.startsWith('gone')
          ? { code: 550, message: 'no such user' }
          : undefined,
  })
  const channel = (to: string) => ({
    type: 'email',
    smtp_url: `smtp://alerts@127.0.0.1:${sink.port}`,
    smtp_password_env: 'SMTP_PASSWORD',
    from: 'gatewarden@example.com',
    to: [to],
  })
  const busy = await sender(channel('busy@example.com')).send(notif([loop]))
  assert.equal(busy.kind, 'retryable')
  assert.ok(busy.kind === 'retryable' && busy.error instanceof AlertDeliveryError)
  assert.equal((busy as { error: AlertDeliveryError }).error.status, 450)
  assertNoSecrets((busy as { error: unknown }).error)

  const gone = await deliver(sender(channel('gone@example.com')), notif([loop]))
  assert.equal(gone.outcomes.length, 1, 'a permanent refusal is not retried')
  assert.ok(gone.error instanceof AlertDeliveryError)
  assert.equal(gone.error.retryable, false)
  assert.equal(gone.error.status, 550)
  assert.match(gone.error.message, /email channel "email" via smtp:\/\/127\.0\.0\.1:\d+: .*550/)
  assertNoSecrets(gone.error)
  assert.equal(sink.received.length, 0)
})

test('email: an auth refusal echoing the password is a failure with the password redacted', async () => {
  // a server that quotes what it got: the redaction, not the server's manners, keeps the secret out
  const sink = await smtp({
    auth: { user: 'alerts', pass: 'the-right-one' },
    authReply: (user, pass) => ({ code: 535, message: `5.7.8 bad credentials ${user}/${pass}` }),
  })
  const s = sender({
    type: 'email',
    smtp_url: `smtp://alerts@127.0.0.1:${sink.port}`,
    smtp_password_env: 'SMTP_PASSWORD',
    from: 'gatewarden@example.com',
    to: ['oncall@example.com'],
  })
  const r = await deliver(s, notif([loop]))
  assert.equal(r.outcomes.length, 1, 'not retried')
  assert.ok(r.error instanceof AlertDeliveryError)
  assert.equal(r.error.status, 535)
  assert.equal(r.error.retryable, false)
  assert.match(inspect(r.error), /bad credentials alerts\/\[REDACTED\]/, 'the echo was there, redacted')
  assertNoSecrets(r.error)
})

test('email: SMTP server down, then started on the same port: delivered exactly once through withRetry', async () => {
  const probe = await startSmtpSink()
  const port = probe.port
  await probe.close()
  const received: ReceivedMail[] = []
  const s = sender({
    type: 'email',
    smtp_url: `smtp://127.0.0.1:${port}`,
    from: 'gatewarden@example.com',
    to: ['oncall@example.com'],
  })
  const n = notif([burn])
  let started = false
  const r = await deliver(s, n, async (attempt) => {
    if (attempt === 2 && !started) {
      started = true
      await smtp({ port }, received)
    }
  })
  assert.equal(r.error, undefined, inspect(r.error))
  assert.equal(r.outcomes.filter((o) => o.kind === 'retryable').length, 2, 'refused twice while down')
  assert.equal(r.outcomes.at(-1)?.kind, 'success')
  assert.equal(received.length, 1, 'delivered once')
  assert.equal(received[0]!.mail.messageId, `<${n.id}@example.com>`)
})

test('slack: Block Kit body POSTed to the incoming webhook (URL from the env)', async () => {
  const l = await listener()
  SECRETS.SLACK_URL = `${l.url}${SLACK_PATH}`
  const s = sender({ type: 'slack', name: 'ops', webhook_url_env: 'SLACK_URL' })
  const n = notif([burn, loop], 'firing', 'ops')
  const out = await s.send(n)
  assert.deepEqual(out, {
    kind: 'success',
    value: { channel: 'ops', type: 'slack', notification_id: n.id, status: 200, detail: 'ok' },
  })
  assert.equal(l.requests.length, 1)
  const req = l.requests[0]!
  assert.equal(req.method, 'POST')
  assert.equal(req.url, SLACK_PATH)
  assert.equal(req.headers['content-type'], 'application/json')
  assert.deepEqual(JSON.parse(req.body.toString()), renderSlack(n))
})

test('slack: a 404 (no_service) is a failure, not retried, and the webhook URL stays secret', async () => {
  const l = await listener(() => ({ status: 404, body: `no_service for ${SLACK_PATH}` }))
  SECRETS.SLACK_URL = `${l.url}${SLACK_PATH}`
  const r = await deliver(sender({ type: 'slack', webhook_url_env: 'SLACK_URL' }), notif([loop]))
  assert.equal(l.requests.length, 1)
  assert.ok(r.error instanceof AlertDeliveryError)
  assert.equal(r.error.retryable, false)
  assert.equal(r.error.status, 404)
  assert.equal(
    r.error.message,
    `slack channel "slack" at ${l.url}: POST answered 404: no_service for [REDACTED]`,
  )
  assertNoSecrets(r.error)
})

test('webhook: signed JSON body verified by the receiver; Idempotency-Key is the notification id', async () => {
  const l = await listener((req) => {
    const v = verifyWebhookSignature({
      secret: SECRETS.HOOK_SECRET!,
      body: req.body,
      signature: req.headers['x-gatewarden-signature'],
      timestamp: req.headers['x-gatewarden-timestamp'],
    })
    return v.ok ? { status: 204 } : { status: 401, body: v.reason }
  })
  const s = sender({
    type: 'webhook',
    name: 'hooks',
    url: `${l.url}/gatewarden?tenant=t1`,
    secret_env: 'HOOK_SECRET',
  })
  const n = notif([burn, { ...loop, state: 'resolved', resolved_at: t0 + 60_000 }], 'firing', 'hooks')
  const out = await s.send(n)
  assert.equal(out.kind, 'success', inspect(out))
  assert.equal(out.kind === 'success' && out.value.status, 204)
  const req = l.requests[0]!
  assert.equal(req.url, '/gatewarden?tenant=t1')
  assert.equal(req.headers['idempotency-key'], n.id)
  assert.match(String(req.headers['x-gatewarden-signature']), /^sha256=[0-9a-f]{64}$/)
  const body = WebhookBody.parse(JSON.parse(req.body.toString()))
  assert.deepEqual(body, renderWebhookBody(n))
  assert.equal(body.alerts[1]!.resolved_at, '2026-11-24T12:01:00.000Z')

  // the receiver's helper rejects a tampered body, a wrong secret and an old timestamp
  const base = {
    secret: SECRETS.HOOK_SECRET!,
    body: req.body,
    signature: req.headers['x-gatewarden-signature'],
    timestamp: req.headers['x-gatewarden-timestamp'],
  }
  assert.deepEqual(verifyWebhookSignature({ ...base, body: req.body.toString().replace('acme', 'acmf') }), {
    ok: false,
    reason: 'mismatch',
  })
  assert.deepEqual(verifyWebhookSignature({ ...base, secret: 'other' }), { ok: false, reason: 'mismatch' })
  assert.deepEqual(verifyWebhookSignature({ ...base, now: Date.now() + 600_000 }), {
    ok: false,
    reason: 'expired',
  })
  assert.deepEqual(verifyWebhookSignature({ ...base, signature: undefined }), {
    ok: false,
    reason: 'missing',
  })
})

test('pagerduty: trigger and resolve events with the routing key and the alert dedupe keys', async () => {
  const l = await listener(() => ({
    status: 202,
    headers: { 'content-type': 'application/json' },
    body: '{"status":"success","message":"Event processed"}',
  }))
  const s = sender({ type: 'pagerduty', routing_key_env: 'PD_KEY', events_url: `${l.url}/v2/enqueue` })
  const resolvedLoop: Alert = { ...loop, state: 'resolved', resolved_at: t0 + 60_000 }
  const n = notif([burn, resolvedLoop])
  const out = await s.send(n)
  assert.equal(out.kind, 'success', inspect(out))
  assert.equal(out.kind === 'success' && out.value.detail, '2/2 events accepted')
  assert.equal(l.requests.length, 2)
  type PdBody = {
    routing_key: string
    event_action: string
    dedup_key: string
    payload: { severity: string; source: string; class: string; custom_details: Record<string, unknown> }
    links: unknown
  }
  const [trigger, resolve] = l.requests.map((r) => JSON.parse(r.body.toString()) as PdBody)
  assert.ok(trigger && resolve)
  assert.equal(l.requests[0]!.url, '/v2/enqueue')
  assert.equal(trigger.event_action, 'trigger')
  assert.equal(trigger.dedup_key, 'burn_rate|customer:acme|acme-monthly')
  assert.equal(trigger.payload.severity, 'critical')
  assert.equal(trigger.payload.source, 'gatewarden')
  assert.equal(trigger.payload.class, 'burn_rate')
  assert.equal(trigger.payload.custom_details.remaining_usd, 120.5)
  assert.deepEqual(trigger.links, [{ text: 'Gatewarden', href: 'https://gw.example.com/alerts/a-burn' }])
  assert.deepEqual(trigger, { routing_key: SECRETS.PD_KEY, ...renderPagerDutyEvents(n)[0] })
  assert.deepEqual(resolve, {
    routing_key: SECRETS.PD_KEY,
    event_action: 'resolve',
    dedup_key: 'loop|key:k1|fp9',
  })
})

test('webhook down then up: 503 + Retry-After: 1 twice, then 200: delivered exactly once', async () => {
  let accepted = 0
  const l = await listener((_req, n) => {
    if (n <= 2) return { status: 503, headers: { 'retry-after': '1' }, body: 'maintenance' }
    accepted++
    return { status: 200, body: 'ok' }
  })
  const s = sender({ type: 'webhook', url: `${l.url}/hook`, secret_env: 'HOOK_SECRET' })
  const n = notif([burn])
  const startedAt = Date.now()
  const r = await deliver(s, n)
  assert.equal(r.error, undefined, inspect(r.error))
  assert.equal(r.receipt?.status, 200)
  assert.deepEqual(
    r.outcomes.map((o) => (o.kind === 'retryable' ? [o.kind, o.retryAfterMs] : [o.kind])),
    [['retryable', 1000], ['retryable', 1000], ['success']],
  )
  assert.ok(
    r.delays.every((d) => d >= 1000),
    `Retry-After honoured: ${r.delays.join(', ')}`,
  )
  assert.ok(Date.now() - startedAt >= 2000)
  assert.equal(l.requests.length, 3)
  assert.equal(accepted, 1, 'accepted once')
  assert.deepEqual(
    new Set(l.requests.map((q) => q.headers['idempotency-key'])),
    new Set([n.id]),
    'same idempotency key',
  )
  assert.deepEqual(new Set(l.requests.map((q) => q.body.toString())).size, 1, 'same body each time')
})

test('pagerduty down mid-notification: the retry re-sends only the events not yet accepted', async () => {
  const l = await listener((_req, n) =>
    n === 2 ? { status: 429, body: 'throttled' } : { status: 202, body: '{}' },
  )
  const s = sender({ type: 'pagerduty', routing_key_env: 'PD_KEY', events_url: `${l.url}/v2/enqueue` })
  const n = notif([burn, loop])
  const r = await deliver(s, n)
  assert.equal(r.error, undefined, inspect(r.error))
  assert.deepEqual(
    r.outcomes.map((o) => o.kind),
    ['retryable', 'success'],
  )
  assert.deepEqual(
    l.requests.map((q) => (JSON.parse(q.body.toString()) as { dedup_key: string }).dedup_key),
    [burn.dedupe_key, loop.dedupe_key, loop.dedupe_key],
  )
})

test('4xx = no retry on every HTTP channel; secrets absent from the errors, even when echoed back', async () => {
  // a receiver that quotes the whole request back: routing key and signature included
  const l = await listener((req) => ({ status: 400, body: `bad request: ${req.body.toString()} ${req.url}` }))
  SECRETS.SLACK_URL = `${l.url}${SLACK_PATH}`
  const channels = [
    { type: 'slack', webhook_url_env: 'SLACK_URL' },
    { type: 'webhook', url: `${l.url}/hook`, secret_env: 'HOOK_SECRET' },
    { type: 'pagerduty', routing_key_env: 'PD_KEY', events_url: `${l.url}/v2/enqueue` },
  ]
  for (const c of channels) {
    const before = l.requests.length
    const r = await deliver(sender(c), notif([burn]))
    assert.equal(l.requests.length - before, 1, `${c.type}: one request`)
    assert.ok(r.error instanceof AlertDeliveryError, c.type)
    assert.equal(r.error.retryable, false)
    assert.equal(r.error.status, 400)
    assert.match(r.error.message, /answered 400/)
    assertNoSecrets(r.error)
  }
})

test('network failures and timeouts are retryable and name no secret', async () => {
  const dead = await startAlertListener()
  await dead.close()
  SECRETS.SLACK_URL = `${dead.url}${SLACK_PATH}`
  const refused = await sender({ type: 'slack', webhook_url_env: 'SLACK_URL' }).send(notif([loop]))
  assert.equal(refused.kind, 'retryable')
  const err = (refused as { error: AlertDeliveryError }).error
  assert.match(err.message, /POST failed: fetch failed \(ECONNREFUSED\)/)
  assertNoSecrets(err)

  const hang = await listener(() => 'hang')
  const slow = sender(
    { type: 'pagerduty', routing_key_env: 'PD_KEY', events_url: `${hang.url}/v2/enqueue` },
    { timeoutMs: 200 },
  )
  const timedOut = await slow.send(notif([burn]))
  assert.equal(timedOut.kind, 'retryable')
  assert.match((timedOut as { error: Error }).error.message, /timed out after 200 ms/)
  assertNoSecrets((timedOut as { error: unknown }).error)
})

test('429 with an HTTP-date Retry-After', async () => {
  const now = Date.parse('2026-11-24T12:00:00Z')
  const l = await listener(() => ({
    status: 429,
    headers: { 'retry-after': 'Tue, 24 Nov 2026 12:00:07 GMT' },
  }))
  const out = await sender({ type: 'webhook', url: l.url }, { now: () => now }).send(notif([loop]))
  assert.equal(out.kind, 'retryable')
  assert.equal(out.kind === 'retryable' && out.retryAfterMs, 7000)
})
