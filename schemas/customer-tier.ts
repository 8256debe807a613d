import { z } from 'zod'

/** A tier's name: what a `{ tier: ... }` budget and the payload field carry. */
export const TierName = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a tier is 1-64 letters, digits, _ . : -')
  .refine((t) => t !== '*', 'a tier is a name, not *')

/** Body of `PUT /api/customers/:customer/tier`. */
export const CustomerTierInput = z.strictObject({ tier: TierName })
export type CustomerTierInput = z.infer<typeof CustomerTierInput>

/** A tier set through the API for one customer (it wins over the payload's tier). */
export interface CustomerTier {
  customer: string
  tier: string
  /** Epoch ms. */
  updated_at: number
  updated_by: string
}

/** One audited change of a customer's tier. */
export interface CustomerTierEvent {
  customer: string
  at: number
  action: 'set' | 'cleared'
  actor: string
  /** The tier before and after ('' when none). */
  before: string
  after: string
}
