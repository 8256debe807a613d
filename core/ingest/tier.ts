import type { RequestEvent } from '../../schemas/request-event.js'

/** The tier set through the API for a customer, if any. */
export interface TierLookup {
  tierOf(customer: string): string | undefined
}

/**
 * Stamps each event with its customer's API-set tier, which wins over the tier the payload carried
 * (`attribution.tier`): the operator's assignment is the decision, the payload a default. Events with
 * no customer, or whose customer has no API tier, keep theirs. Mutates the events; returns them.
 */
export function applyTiers<E extends Pick<RequestEvent, 'customer' | 'tier'>>(
  events: readonly E[],
  lookup: TierLookup | undefined,
): readonly E[] {
  if (!lookup) return events
  for (const e of events) {
    if (e.customer === '') continue
    const tier = lookup.tierOf(e.customer)
    if (tier !== undefined) e.tier = tier
  }
  return events
}
