import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Finding } from '../detectors/finding.js'
import type { Alert } from './alert.js'
import { AlertTimeline } from './alert-timeline.js'

const MIN = 60_000
const f = (state: Finding['state'], at: number): Finding => ({
  type: 'burn_rate',
  dedupe_key: 'burn:customer:acme',
  state,
  severity: 'page',
  scope: { kind: 'customer', id: 'acme' },
  at,
  summary: state,
  details: {},
})

function run(findings: Finding[], resolveAfter?: number, end?: number) {
  const steps: Array<{ at: number; changes: Alert[] }> = []
  const tl = new AlertTimeline(resolveAfter === undefined ? undefined : () => resolveAfter)
  const step = (changes: readonly Alert[], at: number) => void steps.push({ at, changes: [...changes] })
  tl.onFindings(findings, step)
  if (end !== undefined) tl.settle(end, step)
  return steps.flatMap((s) => s.changes.map((a) => ({ at: s.at, id: a.id, state: a.state })))
}

test('a re-fire within resolve_after reopens the same alert; one after it opens a new one', () => {
  const within = run([f('firing', 0), f('resolved', 5 * MIN), f('firing', 10 * MIN)], 15 * MIN, 60 * MIN)
  assert.deepEqual(
    within.map((c) => c.state),
    ['firing'],
    'reopened: no new alert, still firing',
  )
  // the hold of the first resolution ends at 20 min, before the next finding at 30 min: released at
  // 20 min (as a live tick would), so the firing at 30 min is a new alert
  const later = run([f('firing', 0), f('resolved', 5 * MIN), f('firing', 30 * MIN)], 15 * MIN)
  assert.deepEqual(
    later.map((c) => [c.at, c.state]),
    [
      [0, 'firing'],
      [20 * MIN, 'resolved'],
      [30 * MIN, 'firing'],
    ],
  )
  assert.notEqual(later[0]!.id, later[2]!.id)
})

test('without a hold every resolution closes at once; settle releases the holds due by the end', () => {
  const flaps = [f('firing', 0), f('resolved', 5 * MIN), f('firing', 10 * MIN), f('resolved', 15 * MIN)]
  assert.equal(run(flaps).filter((c) => c.state === 'firing').length, 2)
  const held = run(flaps, 15 * MIN, 29 * MIN)
  assert.deepEqual(
    held.map((c) => c.state),
    ['firing'],
    'still clearing at 29 min',
  )
  assert.deepEqual(
    run(flaps, 15 * MIN, 30 * MIN).map((c) => [c.at, c.state]),
    [
      [0, 'firing'],
      [30 * MIN, 'resolved'],
    ],
  )
})
