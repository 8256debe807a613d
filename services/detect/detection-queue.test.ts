import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ev } from '../../test/support/detector-fixtures.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { DetectionQueue } from './detection-queue.js'

/** Lets the event loop turn until `cond` holds (the queue starts its steps on a later turn). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r))
}

function gated() {
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  return { gate, release }
}

test('events waiting behind a running step are coalesced into one step; past the bound the oldest are dropped and reported', async () => {
  const first = gated()
  const steps: Array<{ ids: string[]; submittedAt: number }> = []
  const saturations: Array<[number, number]> = []
  const q = new DetectionQueue(
    {
      events: async (events: readonly RequestEvent[], submittedAt: number) => {
        steps.push({ ids: events.map((e) => e.event_id), submittedAt })
        if (steps.length === 1) await first.gate
      },
      tick: async () => undefined,
      failed: (err) => assert.fail(String(err)),
      saturated: (dropped, waiting) => saturations.push([dropped, waiting]),
    },
    3,
  )
  const a = q.events([ev({ event_id: 'a', ts: 1 })], 100)
  await until(() => steps.length === 1)
  const b = q.events([ev({ event_id: 'b', ts: 2 }), ev({ event_id: 'c', ts: 3 })], 90)
  const c = q.events([ev({ event_id: 'd', ts: 4 }), ev({ event_id: 'e', ts: 5 })], 95)
  assert.equal(q.waiting, 3)
  assert.equal(b, c, 'one coalesced step')
  first.release()
  await Promise.all([a, b, c])
  assert.deepEqual(steps, [
    { ids: ['a'], submittedAt: 100 },
    { ids: ['c', 'd', 'e'], submittedAt: 90 },
  ])
  assert.deepEqual(saturations, [[1, 3]])
  assert.equal(q.dropped, 1)
})

test('pending events run before a pending tick; a failing step does not stop the queue', async () => {
  const order: string[] = []
  const first = gated()
  const q = new DetectionQueue({
    events: async (events) => {
      order.push(`events:${events.length}`)
      if (order.length === 1) {
        await first.gate
        throw new Error('store down')
      }
    },
    tick: async () => {
      order.push('tick')
    },
    failed: (_err, step) => order.push(`failed:${step}`),
    saturated: () => undefined,
  })
  const e1 = q.events([ev({ ts: 1 })], 0)
  await until(() => order.length === 1)
  const t1 = q.tick()
  const e2 = q.events([ev({ ts: 2 })], 0)
  first.release()
  await Promise.all([e1, t1, e2])
  assert.deepEqual(order, ['events:1', 'failed:events', 'events:1', 'tick'])
})

test('a step never runs inside the caller: the events of the same turn are judged in one step after it', async () => {
  const steps: string[][] = []
  const q = new DetectionQueue({
    events: async (events) => {
      steps.push(events.map((e) => e.event_id))
    },
    tick: async () => undefined,
    failed: (err) => assert.fail(String(err)),
    saturated: () => undefined,
  })
  const a = q.events([ev({ event_id: 'a', ts: 1 })], 0)
  assert.deepEqual(steps, [], 'nothing judged while the caller (the writer, after a commit) still runs')
  const b = q.events([ev({ event_id: 'b', ts: 2 })], 0)
  await q.idle()
  await Promise.all([a, b])
  assert.deepEqual(steps, [['a', 'b']])
})
