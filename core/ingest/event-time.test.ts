import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventTimeProblem } from './event-time.js'

const now = Date.parse('2026-11-26T12:00:00Z')
const DAY = 86_400_000

test('events inside retention and at most a day ahead pass; others get a reason', () => {
  assert.equal(eventTimeProblem(now - 10 * DAY, now, 30), null)
  assert.equal(eventTimeProblem(now - 400 * DAY, now, 0), null, 'retention 0 = forever')
  assert.match(eventTimeProblem(now - 31 * DAY, now, 30)!, /older than store.retention_days \(30\)/)
  assert.equal(eventTimeProblem(now + DAY - 1, now, 0), null)
  assert.match(eventTimeProblem(now + DAY + 1, now, 0)!, /ahead of the receiving clock/)
})
