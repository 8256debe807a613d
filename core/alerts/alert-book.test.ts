import { test } from 'node:test'
import assert from 'node:assert/strict'
import { alertId, applyFindings, type AlertBook } from './alert-book.js'
import type { Finding } from '../detectors/finding.js'

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
