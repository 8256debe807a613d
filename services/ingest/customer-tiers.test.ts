import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TierStore } from '../../core/ports/tier-store.js'
import type { CustomerTier } from '../../schemas/customer-tier.js'
import { silentLog } from '../../test/support/store.js'
import { CustomerTiers } from './customer-tiers.js'

test('a reload that read the store before a tier was set here does not undo it', async () => {
  const stored: CustomerTier[] = []
  let release: (() => void) | undefined
  const store: TierStore = {
    // the reload reads the store as it is now, and answers when the test lets it
    list: () => {
      const snapshot = [...stored]
      return new Promise((resolve) => (release = () => resolve(snapshot)))
    },
    set: (customer, tier, actor, now) => {
      stored.push({ customer, tier, updated_at: now, updated_by: actor })
      return Promise.resolve({ customer, at: now, action: 'set', actor, before: '', after: tier })
    },
    clear: () => Promise.resolve(undefined),
    events: () => Promise.resolve([]),
  }
  const tiers = new CustomerTiers(store, { refreshMs: 60_000, log: silentLog, now: () => 1 })
  const reading = tiers.reload() // reads the empty store
  await tiers.set('globex', { tier: 'pro' }, 'sales')
  assert.equal(tiers.tierOf('globex'), 'pro')
  release!()
  await reading
  assert.equal(tiers.tierOf('globex'), 'pro', 'the stale read did not replace the tier set meanwhile')
  // the next reload reads it back from the store
  const next = tiers.reload()
  release!()
  await next
  assert.equal(tiers.tierOf('globex'), 'pro')
})
