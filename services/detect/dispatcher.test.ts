import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import type { Alert, Notification } from '../../core/alerts/alert.js'
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
