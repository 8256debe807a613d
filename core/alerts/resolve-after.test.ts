import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DetectorsConfig } from '../../schemas/policy.js'
import type { DetectorType } from '../detectors/finding.js'
import { DEFAULT_RESOLVE_AFTER, resolveAfterOf } from './resolve-after.js'

test('resolve_after per detector: documented defaults, set per detector, zombie_agent reads detectors.zombie', () => {
  const defaults = resolveAfterOf(DetectorsConfig.parse({}))
  assert.deepEqual((['burn_rate', 'budget_exhaustion', 'loop', 'zombie_agent'] as const).map(defaults), [
    15 * 60_000,
    0,
    5 * 60_000,
    5 * 60_000,
  ])
  const set = resolveAfterOf(
    DetectorsConfig.parse({ burn_rate: { resolve_after: '30m' }, zombie: { resolve_after: '0s' } }),
  )
  assert.equal(set('burn_rate'), 30 * 60_000)
  assert.equal(set('zombie_agent'), 0)
  assert.equal(set('loop'), 5 * 60_000)
})

test('a detector whose config section has no resolve_after (a new one) gets the default hold', () => {
  const of = resolveAfterOf(DetectorsConfig.parse({}))
  assert.equal(of('cost_drift' as DetectorType), DEFAULT_RESOLVE_AFTER)
  // spend_anomaly's own clear_for is its hold: no second one by default
  assert.equal(of('spend_anomaly'), 0)
})

test('a resolve_after that is not a duration is refused at start, naming the key', () => {
  const r = DetectorsConfig.safeParse({ loop: { resolve_after: 'soon' } })
  assert.equal(r.success, false)
  assert.deepEqual(r.error.issues[0]!.path, ['loop', 'resolve_after'])
})
