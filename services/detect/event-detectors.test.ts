import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { EventDetectors } from './event-detectors.js'
import { isAgentEvent, type ReadEventsOptions } from '../../core/ports/event-reader.js'
import { agentIdentity } from '../../core/detectors/zombie.js'
import type { Finding } from '../../core/detectors/finding.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { MemoryEventReader } from '../../test/support/memory-ports.js'
import { MemoryHourlySpend, MemoryMinuteSpend } from '../../test/support/stored-spend.js'
import { detectors, ev, HOUR, MIN, prng, t } from '../../test/support/detector-fixtures.js'

/** The reader as restore used it before it read agents only: `onlyAgents` ignored, every event given. */
class EveryEventReader extends MemoryEventReader {
  override readEvents(fromTs: number, toTs: number, pageSize?: number, opts: ReadEventsOptions = {}) {
    const every = { ...opts }
    delete every.onlyAgents
    return super.readEvents(fromTs, toTs, pageSize, every)
  }
}

/**
 * Five and a half hours up to a Tuesday night: an agent working off hours, an agent known by its key,
 * a steady long session, a loop long over and one going on, and other traffic all along.
 */
function history(now: number): RequestEvent[] {
  const out: RequestEvent[] = []
  const rnd = prng(7)
  const start = now - 5.5 * HOUR
  for (let ts = start; ts < now; ts += 20_000)
    out.push(
      ev({
        ts,
        customer: `c${Math.floor(rnd() * 10)}`,
        fingerprint: `fp-${Math.floor(rnd() * 1e9)}`,
        cost_usd: 0.01,
      }),
    )
  for (let ts = start + 1.5 * HOUR; ts < now; ts += 2 * MIN)
    out.push(ev({ ts, agent: 'bot-a', customer: 'c1', fingerprint: `a-${ts}`, cost_usd: 0.02 }))
  for (let ts = start + 2 * HOUR; ts < now; ts += 3 * MIN)
    out.push(ev({ ts, api_key_alias: 'key-agent', customer: 'c2', fingerprint: `k-${ts}`, cost_usd: 0.02 }))
  for (let ts = start + 3 * HOUR; ts < now; ts += MIN)
    out.push(ev({ ts, agent: 'bot-b', trace_id: 'tr-1', customer: 'c3', fingerprint: `b-${ts}` }))
  for (let ts = start + HOUR; ts < start + HOUR + 10 * MIN; ts += 10_000)
    out.push(ev({ ts, customer: 'c4', api_key_hash: 'k-c4', fingerprint: 'fp-old-loop' }))
  for (let ts = now - 8 * MIN; ts < now; ts += 10_000)
    out.push(ev({ ts, customer: 'c5', api_key_hash: 'k-c5', fingerprint: 'fp-loop' }))
  return out
}

/** Half an hour after `now`, minute by minute: the agents and the loop go on, a new loop starts. */
function after(now: number): RequestEvent[][] {
  const minutes: RequestEvent[][] = []
  for (let m = 0; m < 30; m++) {
    const at = now + m * MIN
    const batch = [
      ev({ ts: at + 1_000, agent: 'bot-a', customer: 'c1', fingerprint: `a-${at}` }),
      ev({ ts: at + 2_000, agent: 'bot-b', trace_id: 'tr-1', customer: 'c3', fingerprint: `b-${at}` }),
      ev({ ts: at + 3_000, customer: 'c6', fingerprint: `n-${at}` }),
    ]
    if (m < 10)
      for (let s = 0; s < 60; s += 10)
        batch.push(ev({ ts: at + s * 1000, customer: 'c5', api_key_hash: 'k-c5', fingerprint: 'fp-loop' }))
    if (m >= 15)
      for (let s = 0; s < 60; s += 10)
        batch.push(ev({ ts: at + s * 1000, customer: 'c7', api_key_hash: 'k-c7', fingerprint: 'fp-new' }))
    minutes.push(batch)
  }
  return minutes
}

test('restore reads only agents before the loop window, and detects exactly as from every event', async () => {
  const now = t('2026-11-24T23:30:00Z')
  const cfg = detectors({ zombie: { agent_keys: ['key-agent'] } })
  const events = history(now)
  const open = new Set(['loop:key:k-c4:fp:fp-old-loop'])
  const got = new EventDetectors(new MemoryEventReader(events), cfg)
  const want = new EventDetectors(new EveryEventReader(events), cfg)
  const a = await got.restore(open, now)
  const b = await want.restore(open, now)
  assert.deepEqual(a.findings, b.findings)
  assert.ok(a.replayed < b.replayed, `read ${a.replayed} events of ${b.replayed}`)

  const seen: Finding[] = [...a.findings]
  for (const [m, batch] of after(now).entries()) {
    const at = now + (m + 1) * MIN
    const fa = [...got.push(batch, at), ...got.advance(at)]
    const fb = [...want.push(batch, at), ...want.advance(at)]
    assert.deepEqual(fa, fb, `minute ${m}`)
    seen.push(...fa)
  }
  // the comparison covers what the state decides: loops and zombie agents fire and resolve
  const kinds = new Set(seen.map((f) => `${f.type} ${f.state}`))
  for (const k of ['loop firing', 'loop resolved', 'zombie_agent firing'])
    assert.ok(kinds.has(k), `${k} among ${[...kinds].join(', ')}`)
})

test('isAgentEvent is exactly "the zombie detector has an identity for it"', () => {
  const label = fc.constantFrom('', 'bot', 'k1', 'k2', 'key:k1')
  fc.assert(
    fc.property(label, label, label, fc.subarray(['k1', 'k2', 'bot']), (agent, hash, alias, keys) => {
      const e = ev({ ts: 0, agent, api_key_hash: hash, api_key_alias: alias })
      const cfg = detectors({ zombie: { agent_keys: keys } }).zombie
      assert.equal(isAgentEvent(e, keys), agentIdentity(e, cfg) !== '')
    }),
  )
})

test('restore takes the spend anomaly window from the minute sums (one read per scope), from the events when that read fails', async () => {
  const now = t('2026-11-24T23:30:00Z')
  const cfg = detectors({ zombie: { enabled: false }, spend_anomaly: { scopes: [{ customer: '*' }, {}] } })
  const events = history(now)
  const reader = new MemoryEventReader(events)
  const hourly = new MemoryHourlySpend(events)
  const minutes = new MemoryMinuteSpend(events)
  const fromSums = await new EventDetectors(reader, cfg, hourly, minutes).restore(new Set(), now)
  const fromEvents = await new EventDetectors(reader, cfg, hourly).restore(new Set(), now)
  assert.equal(minutes.reads, 2)
  // c0..c9 and c5's loop key's customer are all in the last 15 minutes, plus the global series
  assert.equal(fromSums.spendSeries, 10 + 1)
  assert.equal(fromEvents.spendSeries, 0)
  assert.ok(fromSums.replayed * 20 < fromEvents.replayed, `${fromSums.replayed} of ${fromEvents.replayed}`)
  assert.equal(fromSums.spendMinutesError, undefined)
  const failing = {
    minuteSpend: () => Promise.reject(new Error('store down')),
  }
  const fellBack = await new EventDetectors(reader, cfg, hourly, failing).restore(new Set(), now)
  assert.match(String(fellBack.spendMinutesError), /store down/)
  assert.equal(fellBack.replayed, fromEvents.replayed)
  assert.equal(fellBack.spendSeries, 0)
  assert.deepEqual(fellBack.findings, fromEvents.findings)
})
