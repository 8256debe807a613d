import assert from 'node:assert/strict'
import { createFailpoints, parseFailpoints, type Failpoints } from '../../core/failpoints.js'

/** Failpoints armed from a spec (`name=action[(n)][@hit]`); a `crash` fails the test, delays do not wait. */
export function armed(spec: string): Failpoints {
  const parsed = parseFailpoints(spec)
  assert.ok(parsed.ok)
  return createFailpoints(parsed.plan, { crash: () => assert.fail('no crash here'), sleep: async () => {} })
}
