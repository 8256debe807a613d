import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { ev } from '../../test/support/detector-fixtures.js'
import type { EventStore } from '../../core/ports/event-store.js'
import type { RetryClock } from '../../core/retry.js'
import { WriterConfig } from '../../schemas/config.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { MemoryEventStore } from '../../test/support/memory-ports.js'
import { BatchWriter } from './batch-writer.js'

const log = pino({ level: 'silent' })
/** Retry backoff without waiting (the policy is core/retry's, tested there). */
const clock = (): RetryClock => {
  let at = 0
  return { now: () => at, sleep: async (ms) => void (at += ms), random: () => 0.5 }
}
const cfg = WriterConfig.parse({ max_batch_wait_ms: 1 })

test('duplicates (in a batch and already stored) are stored once; eventsStored gets only the new ones, after commit', async () => {
  const store = new MemoryEventStore()
  const seen: string[][] = []
  const w = new BatchWriter(
    store,
    cfg,
    log,
    {
      eventsStored: (events) => seen.push(events.map((e) => e.event_id)),
    },
    clock(),
  )
  await w.start()
  await w.submit([ev({ event_id: 'a', ts: 1 })])
  const r = await w.submit([
    ev({ event_id: 'a', ts: 1 }),
    ev({ event_id: 'b', ts: 2 }),
    ev({ event_id: 'b', ts: 2 }),
  ])
  assert.deepEqual(r, { stored: 1, duplicates: 2, deadLettered: 0 })
  assert.deepEqual(
    store.requests.map((e) => e.event_id),
    ['a', 'b'],
  )
  assert.deepEqual(seen, [['a'], ['b']])
  await w.shutdown(1_000)
})

test('an insert that failed after the store took it is retried with the same token: no duplicate rows', async () => {
  const store = new MemoryEventStore()
  store.faults.ambiguous = true
  store.faults.failNext(1)
  const w = new BatchWriter(store, cfg, log, {}, clock())
  const r = await w.submit([ev({ event_id: 'a', ts: 1 })])
  assert.equal(r.stored, 1)
  assert.equal(store.requests.length, 1)
  assert.equal(store.faults.calls.filter((c) => c === 'insertRequests').length, 2)
  await w.shutdown(1_000)
})

test('shutdown(timeoutMs) is bounded when the store never answers; new input is refused', async () => {
  const hung: EventStore = {
    existingEventIds: () => new Promise(() => undefined),
    insertRequests: async () => undefined,
    insertDeadLetters: async () => undefined,
    ping: async () => false,
  }
  const w = new BatchWriter(hung, cfg, log)
  const pending: Promise<unknown> = w.submit([ev({ ts: 1 })] as RequestEvent[])
  pending.catch(() => undefined)
  await w.shutdown(50)
  await assert.rejects(w.submit([ev({ ts: 2 })]), { code: 'GW_SHUTTING_DOWN' })
})
