import { test } from 'node:test'
import assert from 'node:assert/strict'
import { alertId, applyFindings, type AlertBook } from './alert-book.js'
import type { Finding } from '../detectors/finding.js'
import type { Alert } from './alert.js'

const f = (state: Finding['state'], at: number, over: Partial<Finding> = {}): Finding => ({
  type: 'loop',
  dedupe_key: 'loop:key:k1:fp1',
  state,
  severity: 'ticket',
  scope: { kind: 'key', id: 'k1' },
  at,
  summary: `${state} at ${at}`,
  details: { repeats: at },
  ...over,
})
const links = () => ({ page: 'http://gw/alerts' })
const empty: AlertBook = { open: {} }

test('firing opens once, repeats update in place, resolution closes', () => {
  let r = applyFindings(empty, [f('firing', 1000)], links)
  assert.equal(r.changes.length, 1)
  const opened = r.changes[0]!
  assert.equal(opened.id, alertId('loop:key:k1:fp1', 1000))
  assert.equal(opened.state, 'firing')
  assert.deepEqual(opened.links, { page: 'http://gw/alerts' })
  r = applyFindings(r.book, [f('firing', 2000), f('firing', 3000)], links)
  assert.equal(r.changes.length, 0, 'no new row while firing at the same severity')
  assert.equal(r.book.open['loop:key:k1:fp1']!.summary, 'firing at 3000')
  r = applyFindings(r.book, [f('firing', 4000, { severity: 'page' })], links)
  assert.deepEqual(
    r.changes.map((a) => [a.id, a.severity]),
    [[opened.id, 'page']],
    'escalation is a change of the same alert',
  )
  r = applyFindings(r.book, [f('resolved', 5000)], links)
  assert.equal(r.changes.length, 1)
  assert.equal(r.changes[0]!.state, 'resolved')
  assert.equal(r.changes[0]!.resolved_at, 5000)
  assert.equal(r.changes[0]!.started_at, 1000)
  assert.deepEqual(r.book.open, {})
})

test('resolution with nothing open is ignored; a later firing is a new incident with a new id', () => {
  let r = applyFindings(empty, [f('resolved', 1000)], links)
  assert.equal(r.changes.length, 0)
  r = applyFindings(r.book, [f('firing', 2000), f('resolved', 3000), f('firing', 4000)], links)
  assert.deepEqual(
    r.changes.map((a) => a.state),
    ['firing', 'resolved', 'firing'],
  )
  assert.notEqual(r.changes[0]!.id, r.changes[2]!.id)
})

test('the book is not mutated (pure)', () => {
  const before: AlertBook = { open: {} }
  applyFindings(before, [f('firing', 1)], links)
  assert.deepEqual(before, { open: {} })
})

test('the enforcement decision of a finding is recorded with the alert', () => {
  const r = applyFindings(
    empty,
    [
      f('firing', 1000, {
        type: 'budget_exhaustion',
        action: { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } },
      }),
    ],
    links,
  )
  assert.equal(r.changes[0]!.details.action, '{"action":"downgrade","map":{"gpt-4o":"gpt-4o-mini"}}')
  assert.equal(r.changes[0]!.details.repeats, 1000, 'other details kept')
})

const MIN = 60_000
const hold = (now: number, ms = 15 * MIN) => ({ now, resolveAfter: () => ms })

test('hysteresis on sparse traffic: a condition that clears between calls a few minutes apart is one alert, resolved once clear for resolve_after', () => {
  // a burn-rate-like detector on a customer whose calls come 7 minutes apart: fires on each call,
  // resolves when its 5-minute window empties (the pattern that paged 9 times in one hour)
  const calls = Array.from({ length: 9 }, (_, i) => i * 7 * MIN)
  const stream: Finding[] = []
  for (const at of calls) {
    stream.push(f('firing', at, { type: 'burn_rate', dedupe_key: 'burn_rate:b:page:customer:acme' }))
    stream.push(
      f('resolved', at + 5 * MIN, { type: 'burn_rate', dedupe_key: 'burn_rate:b:page:customer:acme' }),
    )
  }
  stream.sort((a, b) => a.at - b.at)
  const run = (resolveAfter: number) => {
    let book: AlertBook = { open: {} }
    const changes = []
    // one call per minute tick, with the findings of that minute, until 90 minutes
    for (let now = 0; now <= 90 * MIN; now += MIN) {
      const r = applyFindings(
        book,
        stream.filter((x) => x.at > now - MIN && x.at <= now),
        links,
        hold(now, resolveAfter),
      )
      book = r.book
      changes.push(...r.changes)
    }
    return { book, changes }
  }
  const flapping = run(0)
  assert.equal(flapping.changes.filter((a) => a.state === 'firing').length, 9, 'without a hold: 9 incidents')

  const held = run(15 * MIN)
  assert.deepEqual(
    held.changes.map((a) => a.state),
    ['firing', 'resolved'],
    'one incident: opened once, resolved once',
  )
  const [opened, resolved] = held.changes as [Alert, Alert]
  assert.equal(resolved.id, opened.id, 'the re-fires reopened the same alert')
  assert.equal(opened.started_at, 0)
  const lastClear = calls.at(-1)! + 5 * MIN
  assert.equal(resolved.resolved_at, lastClear, 'resolved_at = when the condition cleared')
  assert.equal(resolved.updated_at, lastClear + 15 * MIN, 'announced once clear for resolve_after')
  assert.deepEqual(held.book, { open: {} })
})

test('hysteresis: clearing keeps the first clear instant, a re-fire cancels it, an escalation while clearing is a change', () => {
  const key = 'loop:key:k1:fp1'
  let r = applyFindings(empty, [f('firing', 0)], links, hold(0))
  const id = r.changes[0]!.id
  r = applyFindings(r.book, [f('resolved', 1 * MIN)], links, hold(1 * MIN))
  assert.equal(r.changes.length, 0, 'held')
  assert.equal(r.book.clearing?.[key]?.since, 1 * MIN)
  r = applyFindings(r.book, [f('resolved', 2 * MIN)], links, hold(2 * MIN))
  assert.equal(r.book.clearing?.[key]?.since, 1 * MIN, 'a second resolution does not restart the hold')
  r = applyFindings(r.book, [], links, hold(15 * MIN))
  assert.equal(r.changes.length, 0, 'not yet clear for 15 minutes')
  r = applyFindings(r.book, [f('firing', 15 * MIN, { severity: 'page' })], links, hold(15 * MIN))
  assert.deepEqual(
    r.changes.map((a) => [a.id, a.state, a.severity]),
    [[id, 'firing', 'page']],
    'a re-fire at a higher severity is the same alert escalated',
  )
  assert.equal(r.book.clearing, undefined, 'the re-fire cancelled the hold')
  r = applyFindings(r.book, [f('resolved', 20 * MIN)], links, hold(20 * MIN))
  r = applyFindings(r.book, [], links, hold(34 * MIN))
  assert.equal(r.changes.length, 0)
  r = applyFindings(r.book, [], links, hold(35 * MIN))
  assert.deepEqual(
    r.changes.map((a) => [a.id, a.state, a.resolved_at, a.summary]),
    [[id, 'resolved', 20 * MIN, 'resolved at 1200000']],
  )
  assert.deepEqual(r.book, { open: {} })
  // past the hold a new firing is a new incident
  r = applyFindings(r.book, [f('firing', 40 * MIN)], links, hold(40 * MIN))
  assert.notEqual(r.changes[0]!.id, id)
})

test('hysteresis is per detector type: a type with resolve_after 0 resolves at once, another is held', () => {
  const byType = { now: 0, resolveAfter: (t: string) => (t === 'budget_exhaustion' ? 0 : 5 * MIN) }
  let r = applyFindings(
    empty,
    [f('firing', 0), f('firing', 0, { type: 'budget_exhaustion', dedupe_key: 'budget_exhaustion:b' })],
    links,
    byType,
  )
  r = applyFindings(
    r.book,
    [f('resolved', 0), f('resolved', 0, { type: 'budget_exhaustion', dedupe_key: 'budget_exhaustion:b' })],
    links,
    byType,
  )
  assert.deepEqual(
    r.changes.map((a) => [a.type, a.state]),
    [['budget_exhaustion', 'resolved']],
  )
  assert.deepEqual(Object.keys(r.book.open), ['loop:key:k1:fp1'])
})

test('a final resolution (its budget removed) closes at once, past the hold', () => {
  let r = applyFindings(
    empty,
    [f('firing', 0, { type: 'burn_rate', dedupe_key: 'burn_rate:b' })],
    links,
    hold(0),
  )
  r = applyFindings(
    r.book,
    [f('resolved', MIN, { type: 'burn_rate', dedupe_key: 'burn_rate:b', final: true })],
    links,
    hold(MIN),
  )
  assert.deepEqual(
    r.changes.map((a) => [a.state, a.resolved_at]),
    [['resolved', MIN]],
  )
  assert.deepEqual(r.book, { open: {} })
})
