import { createHash } from 'node:crypto'
import type { ActiveRules, Rule } from '../../schemas/rule.js'
import { inForce } from './rule-transitions.js'

/** The reason line a gateway shows with a 429 or a downgraded answer. */
export function reasonLine(r: Rule): string {
  return r.reason.kind === 'alert' ? r.reason.summary : `manual rule by ${r.reason.by}: ${r.reason.why}`
}

/**
 * What gateways enforce now: enforced (not dry-run) rules in force and not expired, blocks first, then
 * oldest first. `version` changes whenever the set does (it is the ETag).
 */
export function activeSet(rules: Iterable<Rule>, now: number): ActiveRules {
  const live = [...rules]
    .filter((r) => r.mode === 'enforce' && inForce(r) && r.expires_at > now)
    .sort(
      (a, b) =>
        Number(b.action.action === 'block') - Number(a.action.action === 'block') ||
        a.created_at - b.created_at ||
        a.id.localeCompare(b.id),
    )
    .map((r) => ({
      id: r.id,
      scope: r.scope,
      action: r.action,
      reason: reasonLine(r),
      expires_at: r.expires_at,
    }))
  const version = createHash('sha256').update(JSON.stringify(live)).digest('hex').slice(0, 16)
  return { version: `"${version}"`, generated_at: now, rules: live }
}
