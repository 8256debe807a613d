import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createAlertSenders } from '../../adapters/alerts/channel-factory.js'
import {
  clickHouseOutbox,
  deliveriesOf,
  pendingNotifications,
} from '../../adapters/clickhouse/outbox-table.js'
import type { Alert } from '../../core/alerts/alert.js'
import { AlertsConfig } from '../../schemas/policy.js'
import { Dispatcher } from '../../services/detect/dispatcher.js'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { freshStore, silentLog } from '../support/store.js'
import { startSmtpSink } from '../support/smtp-sink.js'

const opened: StoreClient[] = []
after(async () => {
  for (const s of opened) await s.client.close()
})

const alert = (id: string, at: number): Alert => ({
  id,
  dedupe_key: `loop:key:${id}`,
  type: 'loop',
  severity: 'page',
  state: 'firing',
  scope: { kind: 'key', id: `key-${id}` },
  started_at: at,
  resolved_at: null,
  updated_at: at,
  summary: `loop on key-${id}: 6 repeats`,
  details: { repeats: 6 },
  links: {},
})

test('a channel that is down delays a notification, never loses it: kept in the outbox across a restart, delivered once when back', async () => {
  const store = await freshStore('dispatch')
  opened.push(store)
  // find a free port, then leave it closed: the SMTP server is down
  const probe = await startSmtpSink()
  const port = probe.port
  await probe.close()

  const cfg = AlertsConfig.parse({
    channels: [
      {
        type: 'email',
        name: 'oncall',
        smtp_url: `smtp://127.0.0.1:${port}`,
        from: 'gw@example.test',
        to: ['oncall@example.test'],
      },
    ],
    group_window: 0,
  })
  const senders = () =>
    createAlertSenders(cfg.channels, { secrets: () => undefined, log: silentLog, timeoutMs: 2000 })
  const t0 = Date.now()

  const d1 = new Dispatcher(clickHouseOutbox(store), senders(), cfg, silentLog)
  await d1.start()
  await d1.plan([alert('a1', t0)], t0)
  await d1.tick(t0 + 1)
  await d1.flush()
  const pending = await pendingNotifications(store.client, store.database, Date.now(), 86_400_000)
  assert.equal(pending.length, 1, 'still in the outbox')
  const id = pending[0]!.notification.id
  assert.deepEqual(
    pending[0]!.notification.alerts.map((a) => a.id),
    ['a1'],
  )
  assert.ok((await deliveriesOf(store.client, store.database, id)).every((d) => d.outcome === 'retry'))
  await d1.shutdown(5_000)

  // the server comes back; a new dispatcher (a restart) resumes the outbox and delivers once
  const smtp = await startSmtpSink({ port })
  try {
    const d2 = new Dispatcher(clickHouseOutbox(store), senders(), cfg, silentLog)
    await d2.start()
    await d2.flush()
    assert.equal(smtp.received.length, 1)
    assert.match(smtp.received[0]!.mail.subject ?? '', /loop/i)
    assert.equal((await pendingNotifications(store.client, store.database, Date.now(), 86_400_000)).length, 0)
    assert.equal((await deliveriesOf(store.client, store.database, id)).at(-1)!.outcome, 'success')
    await d2.shutdown(5_000)

    // and another restart sends nothing again
    const d3 = new Dispatcher(clickHouseOutbox(store), senders(), cfg, silentLog)
    await d3.start()
    await d3.flush()
    await d3.shutdown(5_000)
    assert.equal(smtp.received.length, 1, 'delivered exactly once')
  } finally {
    await smtp.close()
  }
})
