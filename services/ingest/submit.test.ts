import { test } from 'node:test'
import assert from 'node:assert/strict'
import pino from 'pino'
import type { EventStore } from '../../core/ports/event-store.js'
import { isGatewardenError } from '../../core/errors.js'
import type { RetryClock } from '../../core/retry.js'
import { WriterConfig } from '../../schemas/config.js'
import type { DeadLetter } from '../../schemas/dead-letter.js'
import { eventDefaults, type RequestEvent } from '../../schemas/request-event.js'
import { BatchWriter } from './batch-writer.js'
import { prepareBatch, submitItems, type IngestSink, type MappedItem } from './submit.js'

const NOW = Date.UTC(2026, 10, 20, 12)
const DAY = 86_400_000
const log = pino({ level: 'silent' })

/** The EventStore port in memory; `fail` makes every insert throw, `gate` holds inserts until opened. */
class MemoryStore implements EventStore {
  readonly requests = new Map<string, RequestEvent>()
  readonly deadLetters: DeadLetter[] = []
  fail: Error | undefined
  gate: Promise<void> = Promise.resolve()
  async existingEventIds(ids: readonly string[]): Promise<Set<string>> {
    if (this.fail) throw this.fail
    return new Set(ids.filter((id) => this.requests.has(id)))
  }
  async insertRequests(rows: readonly RequestEvent[]): Promise<void> {
    await this.gate
    if (this.fail) throw this.fail
    for (const r of rows) this.requests.set(r.event_id, r)
  }
  async insertDeadLetters(rows: readonly DeadLetter[]): Promise<void> {
    await this.gate
    if (this.fail) throw this.fail
    this.deadLetters.push(...rows)
  }
  async ping(): Promise<boolean> {
    return !this.fail
  }
}

/** A clock whose sleeps pass at once (the writer's retry deadline elapses without waiting). */
const instantClock = (): RetryClock => {
  let t = NOW
  return { now: () => t, sleep: async (ms) => void (t += ms), random: () => 0.5 }
}

/** Records every metric call. */
const recorder = () => {
  const calls: string[] = []
  const rec =
    (name: string) =>
    (source: string, n: number | string): void =>
      void calls.push(`${name} ${source} ${n}`)
  const metrics: IngestSink['metrics'] = {
    eventsAccepted: rec('accepted'),
    eventsRejected: rec('rejected'),
    eventsDuplicate: rec('duplicate'),
    valuesTruncated: rec('truncated'),
    ingestRefused: rec('refused'),
  }
  return { calls, metrics }
}

const writerOn = (store: EventStore, cfg: Partial<WriterConfig> = {}) =>
  new BatchWriter(
    store,
    WriterConfig.parse({ max_batch_wait_ms: 1, store_retry_deadline_ms: 1_000, ...cfg }),
    log,
    {},
    instantClock(),
  )

const event = (id: string, ts = NOW - 1_000): RequestEvent => ({
  ...eventDefaults(),
  event_id: id,
  ts,
  end_ts: ts,
  duration_ms: 0,
  source: 'litellm_http',
  cost_usd: 0.5,
})
const ok = (id: string, ts?: number, truncated = 0): MappedItem => ({
  at: { origin: `test ${id}`, where: id },
  raw: { id },
  ok: true,
  event: event(id, ts),
  truncated,
})
const bad = (id: string, reason: string): MappedItem => ({
  at: { origin: `test ${id}`, where: id },
  raw: 'garbage',
  ok: false,
  reason,
  code: 'GW_DL_INVALID',
})
const ctx = { receivedAt: NOW, retentionDays: 30 }

test('prepareBatch: events in the window go to the writer, the rest become dead letters in input order', () => {
  const b = prepareBatch(
    [ok('a', NOW - DAY, 2), bad('b', 'not JSON'), ok('c', NOW - 40 * DAY), ok('d', NOW + 2 * DAY)],
    { ...ctx, source: 'kafka' },
  )
  assert.deepEqual(
    b.events.map((e) => e.event_id),
    ['a'],
  )
  assert.equal(b.truncated, 2)
  assert.deepEqual(
    b.deadLetters.map((d) => [d.origin, d.source, d.received_at]),
    [
      ['test b', 'kafka', NOW],
      ['test c', 'kafka', NOW],
      ['test d', 'kafka', NOW],
    ],
  )
  assert.deepEqual(
    b.rejections.map((r) => r.where),
    ['b', 'c', 'd'],
  )
  assert.match(b.rejections[1]!.reason, /older than store.retention_days \(30\)/)
  assert.match(b.rejections[2]!.reason, /ahead of the receiving clock/)
  assert.equal(b.deadLetters[0]!.raw, 'garbage')
  assert.equal(b.deadLetters[1]!.raw, JSON.stringify({ id: 'c' }))
})

test('submitItems: stored once, accepted excludes duplicates, metrics counted', async () => {
  const store = new MemoryStore()
  const { calls, metrics } = recorder()
  const sink: IngestSink = { source: 'litellm_http', writer: writerOn(store), metrics }
  const first = await submitItems(sink, [ok('a', undefined, 1), ok('b'), bad('x', 'no id')], ctx)
  assert.deepEqual(first, {
    accepted: 2,
    rejected: 1,
    duplicates: 0,
    rejections: [{ where: 'x', reason: 'no id' }],
  })
  assert.deepEqual([...store.requests.keys()].sort(), ['a', 'b'])
  assert.equal(store.deadLetters.length, 1)

  const again = await submitItems(sink, [ok('a'), ok('b'), ok('c')], ctx)
  assert.deepEqual(again, { accepted: 1, rejected: 0, duplicates: 2, rejections: [] })
  assert.equal(again.accepted + again.duplicates + again.rejected, 3, 'every item counted once')
  assert.equal(store.requests.size, 3)
  assert.deepEqual(calls, [
    'accepted litellm_http 2',
    'duplicate litellm_http 0',
    'rejected litellm_http 1',
    'truncated litellm_http 1',
    'accepted litellm_http 3',
    'duplicate litellm_http 2',
    'rejected litellm_http 0',
  ])
})

test('submitItems: a writer refusing with backpressure rejects retryably, counted as refused, nothing stored', async () => {
  const store = new MemoryStore()
  let open!: () => void
  store.gate = new Promise((resolve) => (open = resolve))
  const { calls, metrics } = recorder()
  const sink: IngestSink = { source: 'otlp', writer: writerOn(store, { max_pending_rows: 1 }), metrics }
  const held = submitItems(sink, [ok('a')], ctx)
  await assert.rejects(submitItems(sink, [ok('b')], ctx), (err) => {
    assert.ok(isGatewardenError(err, 'GW_BACKPRESSURE'))
    assert.equal(err.retryable, true)
    return true
  })
  assert.deepEqual(calls, ['refused otlp GW_BACKPRESSURE'])
  open()
  assert.deepEqual(await held, { accepted: 1, rejected: 0, duplicates: 0, rejections: [] })
  assert.deepEqual([...store.requests.keys()], ['a'])
})

test('submitItems: a store that keeps failing rejects with GW_STORE_UNAVAILABLE (cause kept), counted as refused', async () => {
  const store = new MemoryStore()
  store.fail = new Error('disk full')
  const { calls, metrics } = recorder()
  const sink: IngestSink = { source: 'kafka', writer: writerOn(store), metrics }
  await assert.rejects(submitItems(sink, [ok('a'), bad('x', 'no id')], ctx), (err) => {
    assert.ok(isGatewardenError(err, 'GW_STORE_UNAVAILABLE'))
    assert.equal(err.retryable, true)
    assert.equal((err.cause as Error).message, 'disk full')
    return true
  })
  assert.deepEqual(calls, ['refused kafka GW_STORE_UNAVAILABLE'])
  assert.equal(store.requests.size, 0)
  assert.equal(store.deadLetters.length, 0)
})
