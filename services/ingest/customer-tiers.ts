import type { Logger } from 'pino'
import { GatewardenError } from '../../core/errors.js'
import type { TierLookup } from '../../core/ingest/tier.js'
import type { Lifecycle } from '../../core/lifecycle.js'
import type { TierStore } from '../../core/ports/tier-store.js'
import { CustomerTierInput, type CustomerTier, type CustomerTierEvent } from '../../schemas/customer-tier.js'
import { within } from '../lifecycle.js'

/** Longest customer id the API takes (the event's customer field is cut at 1,024 characters). */
const MAX_CUSTOMER = 1024

/**
 * The customer tiers set through the API, held in memory for the submit step (`tierOf`, a map lookup
 * per event) and reloaded from the store every `refreshMs`, so a tier set on one instance reaches
 * every instance within one refresh (the detection tick). A change made here applies at once locally.
 * A failed reload keeps the last tiers (ingest never waits on it) and is retried at the next refresh.
 */
export class CustomerTiers implements TierLookup, Lifecycle {
  #tiers = new Map<string, CustomerTier>()
  /** Changes made here so far: a reload that began before one of them read the store before it. */
  #writes = 0
  #timer: NodeJS.Timeout | undefined
  #loading: Promise<void> | undefined

  constructor(
    private readonly store: TierStore,
    private readonly opts: { refreshMs: number; log: Logger; now: () => number },
  ) {}

  tierOf(customer: string): string | undefined {
    return this.#tiers.get(customer)?.tier
  }

  /** Loads the tiers; rejects when the store cannot answer (start fails then: the store is down). */
  async start(): Promise<void> {
    await this.reload()
    this.#timer = setInterval(() => {
      this.reload().catch((err: unknown) =>
        this.opts.log.warn({ err }, 'customer tiers: reload failed, keeping the last ones'),
      )
    }, this.opts.refreshMs)
    this.#timer.unref()
  }

  /** Reads every tier from the store (one reload at a time). */
  reload(): Promise<void> {
    const writes = this.#writes
    return (this.#loading ??= this.store
      .list()
      .then((list) => {
        // a change made here while the store was read may be missing from `list`: keep what memory has
        // (the next reload reads it back)
        if (this.#writes === writes) this.#tiers = new Map(list.map((t) => [t.customer, t]))
      })
      .finally(() => {
        this.#loading = undefined
      }))
  }

  flush(): Promise<void> {
    return Promise.resolve()
  }

  async shutdown(timeoutMs: number): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#loading)
      await within(
        this.#loading.catch(() => undefined),
        timeoutMs,
      )
  }

  list(): CustomerTier[] {
    return [...this.#tiers.values()].sort((a, b) => (a.customer < b.customer ? -1 : 1))
  }

  async get(customer: string): Promise<{ tier: CustomerTier | undefined; events: CustomerTierEvent[] }> {
    return { tier: this.#tiers.get(customer), events: await this.store.events(customer) }
  }

  async set(
    customer: string,
    input: unknown,
    actor: string,
  ): Promise<{ tier: CustomerTier; event: CustomerTierEvent }> {
    checkCustomer(customer)
    const parsed = CustomerTierInput.safeParse(input)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new GatewardenError(
        'GW_BAD_REQUEST',
        `${issue?.path.join('.') || 'body'}: ${issue?.message}`,
        false,
      )
    }
    const event = await this.store.set(customer, parsed.data.tier, actor, this.opts.now())
    const tier: CustomerTier = { customer, tier: parsed.data.tier, updated_at: event.at, updated_by: actor }
    this.#writes++
    this.#tiers.set(customer, tier)
    return { tier, event }
  }

  async clear(customer: string, actor: string): Promise<CustomerTierEvent | undefined> {
    checkCustomer(customer)
    const event = await this.store.clear(customer, actor, this.opts.now())
    this.#writes++
    this.#tiers.delete(customer)
    return event
  }
}

function checkCustomer(customer: string): void {
  if (customer === '' || customer.length > MAX_CUSTOMER)
    throw new GatewardenError('GW_BAD_REQUEST', `customer: 1 to ${MAX_CUSTOMER} characters`, false)
}
