import { test } from 'node:test'
import assert from 'node:assert/strict'
import { applyTiers } from './tier.js'

test('API tiers win over the payload tier; other customers and customer-less events keep theirs', () => {
  const tiers = new Map([['acme', 'enterprise']])
  const lookup = { tierOf: (c: string) => tiers.get(c) }
  const events = [
    { customer: 'acme', tier: 'free' },
    { customer: 'globex', tier: 'pro' },
    { customer: '', tier: 'pro' },
    { customer: 'acme', tier: '' },
  ]
  applyTiers(events, lookup)
  assert.deepEqual(
    events.map((e) => e.tier),
    ['enterprise', 'pro', 'pro', 'enterprise'],
  )
  const untouched = [{ customer: 'acme', tier: 'free' }]
  applyTiers(untouched, undefined)
  assert.equal(untouched[0]!.tier, 'free')
})
