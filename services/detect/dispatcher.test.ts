import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import type { Alert, Notification } from '../../core/alerts/alert.js'
import { AlertDeliveryError } from '../../core/alerts/delivery-error.js'
import { delivered, type AlertSender } from '../../core/alerts/sender.js'
import type { RetryClock } from '../../core/retry.js'
import { AlertsConfig } from '../../schemas/policy.js'
import { MemoryOutbox } from '../../test/support/memory-ports.js'
import { Dispatcher } from './dispatcher.js'

const log = pino({ level: 'silent' })
const T0 = Date.parse('2026-11-24T10:00:00Z')
const cfg = AlertsConfig.parse({ group_window: 0 })

/** A clock the test moves; sleeps return at once (retry backoff is not what is tested here). */
function testClock(): RetryClock & { at: number } {
  const c = { at: T0, now: () => c.at, sleep: async () => undefined, random: () => 0.5 }
  return c
}

function recordingSender(): AlertSender & { sent: Notification[] } {
  const sent: Notification[] = []
  const s: AlertSender & { sent: Notification[] } = {
    channel: 'hook',
    type: 'webhook',
    sent,
    send: async (n) => {
      sent.push(n)
      return delivered(s, n, 200, 'ok')
    },
    shutdown: async () => undefined,
  }
  return s
}

const alert = (id: string): Alert => ({
  id,
  dedupe_key: `loop:key:${id}`,
  type: 'loop',
  severity: 'page',
  state: 'firing',
  scope: { kind: 'key', id: `key-${id}` },
  started_at: T0,
  resolved_at: null,
  updated_at: T0,
  summary: `loop on key-${id}`,
  details: {},
  links: {},
})

test('the outbox refuses a notification: it is not sent until written, then sent once', async () => {
  const outbox = new MemoryOutbox()
  const sender = recordingSender()
  const clock = testClock()
  const d = new Dispatcher(outbox, [sender], cfg, log, clock)
  await d.start()
  outbox.faults.failNext(1)
  await d.plan([alert('a1')], T0)
  await d.flush()
  assert.equal(sender.sent.length, 0, 'never sent before the outbox has it')
  assert.equal(d.pending, 1, 'kept, not lost')

  clock.at = T0 + 1_000
  await d.tick(clock.at)
  await d.flush()
  assert.equal(outbox.notifications.length, 1)
  assert.equal(sender.sent.length, 1)
  assert.deepEqual(
    outbox.deliveries.map((x) => x.outcome),
    ['success'],
  )
  await d.tick(clock.at + 1_000)
  await d.flush()
  assert.equal(sender.sent.length, 1, 'sent once')
  await d.shutdown(1_000)
})

test('the delivery record fails after a successful send: not sent again, the record is written on the next tick', async () => {
  const outbox = new MemoryOutbox()
  const sender = recordingSender()
  const clock = testClock()
  const d = new Dispatcher(outbox, [sender], cfg, log, clock)
  await d.start()
  outbox.deliveryFaults.failNext(1)
  await d.plan([alert('a1')], T0)
  await d.flush()
  assert.equal(sender.sent.length, 1)
  assert.equal(outbox.deliveries.length, 0, 'the store refused the record')
  assert.equal(d.pending, 0)
  assert.equal(d.unrecorded, 1)

  clock.at = T0 + 60_000
  await d.tick(clock.at)
  await d.flush()
  assert.equal(sender.sent.length, 1, 'not re-sent')
  assert.deepEqual(
    outbox.deliveries.map((x) => x.outcome),
    ['success'],
  )
  assert.equal(d.unrecorded, 0)
  // a restart finds nothing pending
  assert.equal((await outbox.pending(clock.at, 86_400_000)).length, 0)
  await d.shutdown(1_000)
})

test('shutdown is bounded: a send that never answers does not hold it', async () => {
  const outbox = new MemoryOutbox()
  const stuck: AlertSender = {
    channel: 'hook',
    type: 'webhook',
    send: () => new Promise(() => undefined),
    shutdown: async () => undefined,
  }
  const d = new Dispatcher(outbox, [stuck], cfg, log, testClock())
  await d.start()
  await d.plan([alert('a1')], T0)
  await d.shutdown(50)
  assert.equal(d.pending, 1, 'still in the outbox for the next start')
})

test('a channel down during an alert storm delays, never drops, and delivers each notification once', async () => {
  const outbox = new MemoryOutbox()
  const clock = testClock()
  /** Successful sends and every attempt, per channel. */
  const ok = new Map<string, Notification[]>()
  const attempts = new Map<string, number>()
  let hookUp = false
  const sender = (channel: string, up: () => boolean): AlertSender => {
    const s: AlertSender = {
      channel,
      type: 'webhook',
      send: async (n) => {
        attempts.set(channel, (attempts.get(channel) ?? 0) + 1)
        if (!up())
          return {
            kind: 'retryable',
            error: new AlertDeliveryError('503 from the receiver', channel, true, 503),
          }
        ok.set(channel, [...(ok.get(channel) ?? []), n])
        return delivered(s, n, 200, 'ok')
      },
      shutdown: async () => undefined,
    }
    return s
  }
  const storm = AlertsConfig.parse({ group_window: 0, max_per_channel_per_hour: 10 })
  const d = new Dispatcher(
    outbox,
    [sender('hook', () => hookUp), sender('mail', () => true)],
    storm,
    log,
    clock,
  )
  await d.start()

  // 300 alerts in 30 waves, one a second: 10 notifications an hour per channel by the cap, the rest
  // wait in the channel's queue (merged by group key)
  const ids: string[] = []
  for (let wave = 0; wave < 30; wave++) {
    clock.at = T0 + wave * 1_000
    const alerts = Array.from({ length: 10 }, (_, i) => alert(`w${wave}-${i}`))
    ids.push(...alerts.map((a) => a.id))
    await d.plan(alerts, clock.at)
    await d.flush()
  }
  assert.equal(ok.get('hook'), undefined, 'nothing reached the channel that is down')
  assert.ok((attempts.get('hook') ?? 0) > 0, 'it was tried')
  assert.equal(ok.get('mail')!.length, 10, 'the channel that is up got its hourly cap')

  // the receiver comes back; one delivery record is refused by the store on the way
  hookUp = true
  outbox.deliveryFaults.failNext(1)
  for (let m = 1; m <= 4 * 60; m++) {
    clock.at = T0 + m * 60_000
    await d.tick(clock.at)
    await d.flush()
  }
  for (const channel of ['hook', 'mail']) {
    const sent = ok.get(channel)!
    const perId = new Map<string, number>()
    for (const n of sent) perId.set(n.id, (perId.get(n.id) ?? 0) + 1)
    assert.deepEqual([...new Set(perId.values())], [1], `${channel}: each notification delivered once`)
    assert.ok(perId.size > 10, `${channel}: past the first hour's cap too`)
    // (the 4h reminders of still-firing alerts come on top: `renotify` notifications)
    const got = sent.filter((n) => n.kind === 'firing').flatMap((n) => n.alerts.map((a) => a.id))
    assert.deepEqual(got.sort(), [...ids].sort(), `${channel}: every alert announced exactly once`)
  }
  assert.equal(ok.get('hook')!.length, ok.get('mail')!.length, 'the channel that was down got as much')
  const successes = outbox.deliveries.filter((x) => x.outcome === 'success')
  assert.equal(
    successes.length,
    ok.get('hook')!.length + ok.get('mail')!.length,
    'every success recorded once, the refused record included',
  )
  assert.equal(d.pending, 0)
  assert.equal(d.unrecorded, 0)
  assert.equal((await outbox.pending(clock.at, 86_400_000)).length, 0, 'a restart would send nothing')
  await d.shutdown(1_000)
})
