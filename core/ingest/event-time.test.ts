import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventTimeRejection } from './event-time.js'

const now = Date.parse('2026-11-26T12:00:00Z')
const DAY = 86_400_000

test('events inside retention and at most a day ahead pass; others get a reason', () => {
  assert.equal(eventTimeRejection(now - 10 * DAY, now, 30), null)
  assert.equal(eventTimeRejection(now - 400 * DAY, now, 0), null, 'retention 0 = forever')
  assert.match(eventTimeRejection(now - 31 * DAY, now, 30)!, /older than store.retention_days \(30\)/)
  assert.equal(eventTimeRejection(now + DAY - 1, now, 0), null)
  assert.match(eventTimeRejection(now + DAY + 1, now, 0)!, /ahead of the receiving clock/)
})
