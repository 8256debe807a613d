import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runDetectors } from '../core/detectors/run-detectors.js'
import { mapLiteLLMPayload } from '../core/ingest/litellm/mapper.js'
import { AttributionConfig, PrivacyConfig } from '../schemas/config.js'
import { Budget, DetectorsConfig } from '../schemas/policy.js'
import type { RequestEvent } from '../schemas/request-event.js'
import {
  businessHours,
  plantedIncidents,
  priceOf,
  trafficBudgets,
  trafficJson,
  trafficPayloads,
  TRAFFIC_START,
  type Payload,
} from './traffic.js'

const N = 4000
const opts = { events: N, seed: 3 }
const json = trafficJson(opts)
const payloads = json.map((s) => JSON.parse(s) as Payload)
const planted = plantedIncidents(opts)
const plantedCount = planted.reduce((a, p) => a + p.times.length, 0)
const mapperOpts = {
  source: 'litellm_http' as const,
  gateway: 'litellm',
  attribution: AttributionConfig.parse({}),
  privacy: PrivacyConfig.parse({}),
}
const events: RequestEvent[] = payloads.map((p) => {
  const r = mapLiteLLMPayload(p, mapperOpts)
  if (!r.ok) throw new Error(`a generated payload does not map: ${r.reason}`)
  return r.event
})

test('deterministic for a seed: the same options give the same payloads, another seed others', () => {
  assert.deepEqual(trafficJson(opts), json)
  const a = trafficJson({ events: 500, seed: 3, incidents: false })
  const c = trafficJson({ events: 500, seed: 4, incidents: false })
  assert.equal(a.length, 500)
  assert.notDeepEqual(a, c)
  // lazy and whole: the generator yields what trafficJson collects
  assert.equal([...trafficPayloads(opts)].length, json.length)
})

test('clean events plus every planted request, in start-time order, ids unique', () => {
  assert.equal(json.length, N + plantedCount)
  const starts = payloads.map((p) => p.startTime as number)
  assert.deepEqual(
    starts,
    [...starts].sort((x, y) => x - y),
  )
  assert.equal(new Set(payloads.map((p) => p.litellm_call_id)).size, payloads.length)
  assert.ok(starts[0]! * 1000 >= TRAFFIC_START && starts.at(-1)! * 1000 < TRAFFIC_START + 7 * 3_600_000)
})

test('sizes: ~4.6 KB on average, varied, none tiny or huge', () => {
  const sizes = json.map((s) => Buffer.byteLength(s))
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length
  assert.ok(mean >= 4300 && mean <= 4900, `mean ${mean}`)
  assert.ok(
    Math.min(...sizes) >= 3000 && Math.max(...sizes) <= 9000,
    `${Math.min(...sizes)}..${Math.max(...sizes)}`,
  )
  assert.ok(new Set(sizes).size > 500, 'lengths vary')
})

test('conversations: system, earlier turns and the new user turn; prose, code and figures', () => {
  const msgs = payloads.map((p) => p.messages as Array<{ role: string; content: string }>)
  assert.ok(msgs.every((m) => m[0]!.role === 'system' && m.at(-1)!.role === 'user'))
  const multi = msgs.filter((m) => m.length >= 4).length
  assert.ok(multi > N * 0.3, `multi-turn ${multi}`)
  const text = msgs.flatMap((m) => m.map((x) => x.content)).join('\n')
  assert.match(text, /```(python|sql|typescript|bash)\n/)
  assert.match(text, /\| count \| share \| amount \|/)
  // every clean prompt unique after normalisation, so clean traffic makes no loop
  const loopKey = planted.find((p) => p.kind === 'loop')!.keyHash
  const clean = events.filter((e) => e.api_key_hash !== loopKey)
  assert.equal(new Set(clean.map((e) => e.fingerprint)).size, clean.length)
})

test('attribution: Zipf customers, 1-3 keys each, teams, endpoints, agents in business hours, real prices', () => {
  const customers = new Map<string, number>()
  for (const e of events) if (e.customer) customers.set(e.customer, (customers.get(e.customer) ?? 0) + 1)
  const top = customers.get('cust-0') ?? 0
  assert.ok(customers.size > 1000, `${customers.size} customers`)
  assert.ok(top > (customers.get('cust-9') ?? 0) * 3, 'Zipf: the top customer well above the 10th')
  const keys = new Map<string, Set<string>>()
  for (const e of events)
    if (e.customer.startsWith('cust-'))
      keys.set(e.customer, (keys.get(e.customer) ?? new Set()).add(e.api_key_hash))
  assert.ok([...keys.values()].every((k) => k.size >= 1 && k.size <= 3))
  assert.ok(events.every((e) => /^[0-9a-f]{64}$/.test(e.api_key_hash)))
  assert.ok(new Set(events.map((e) => e.team)).size > 100)
  assert.ok(new Set(events.map((e) => e.endpoint)).size >= 12)
  const agents = events.filter((e) => e.agent && e.agent !== 'agent-zombie')
  assert.ok(agents.length > N * 0.05 && agents.every((e) => businessHours(e.ts)))
  const plantedKeys = new Set(planted.map((p) => p.key))
  const priced = payloads.filter(
    (p) => p.status === 'success' && !plantedKeys.has((p.metadata as Payload).user_api_key_alias as string),
  )
  assert.ok(priced.length > N * 0.9)
  for (const p of priced)
    assert.equal(
      p.response_cost,
      priceOf(p.model as string, p.prompt_tokens as number, p.completion_tokens as number),
    )
  assert.ok(new Set(events.map((e) => e.model)).size >= 6)
  const failed = events.filter((e) => e.status === 'failure').length
  assert.ok(failed > 0 && failed < N * 0.03)
})

test('planted incidents: each present at its times, and the detectors (default config) fire exactly those', () => {
  assert.deepEqual(
    planted.map((p) => p.kind),
    ['zombie_agent', 'budget_exhaustion', 'loop', 'burn_rate'],
  )
  for (const p of planted) {
    const mine = payloads.filter((q) => (q.metadata as Payload).user_api_key_alias === p.key)
    assert.deepEqual(
      mine.map((q) => Math.round((q.startTime as number) * 1000)),
      p.times,
      p.kind,
    )
  }
  const policy = {
    budgets: trafficBudgets(opts).map((b) => Budget.parse(b)),
    detectors: DetectorsConfig.parse({}),
  }
  const firing = runDetectors(events, policy).filter((f) => f.state === 'firing')
  const fired = new Set(firing.map((f) => `${f.type} ${f.scope.kind}:${f.scope.id}`))
  for (const p of planted) {
    const label = `${p.kind} ${p.scope.kind}:${p.scope.id}`
    assert.ok(fired.has(label), `${label} fired (${[...fired].join(', ')})`)
    // the alert the incident is about: the first firing (the exhaustion itself for a budget)
    const first = firing.find(
      (f) =>
        `${f.type} ${f.scope.kind}:${f.scope.id}` === label &&
        (p.kind !== 'budget_exhaustion' || f.details.threshold === 1),
    )!
    // at the completing request (loop, zombie: on the event) or the tick after it (budgets: tick 5s)
    const due = p.times[p.completesAt]!
    assert.ok(first.at >= due && first.at <= due + 5_000, `${label} at ${first.at}, due ${due}`)
  }
  // nothing about clean traffic: every firing alert is about a planted scope
  const plantedScopes = new Set(planted.flatMap((p) => [p.scope.id, p.trace, p.customer, p.keyHash]))
  const other = firing.filter((f) => !plantedScopes.has(f.scope.id))
  assert.deepEqual(
    other.map((f) => `${f.type} ${f.scope.kind}:${f.scope.id} ${f.summary}`),
    [],
  )
})

test('with incidents, start + 1h must be off business hours', () => {
  assert.throws(() => plantedIncidents({ events: 10, start: Date.UTC(2026, 10, 3, 9) }), /off business hours/)
  assert.deepEqual(plantedIncidents({ events: 10, incidents: false }), [])
})
