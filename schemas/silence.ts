import { z } from 'zod'
import { ScopeKind, Severity } from './policy.js'

/** Which alerts a silence mutes: every given field must match. */
export const SilenceMatcher = z
  .strictObject({
    type: z.enum(['burn_rate', 'budget_exhaustion', 'loop', 'zombie_agent', 'spend_anomaly']).optional(),
    severity: Severity.optional(),
    scope_kind: z.union([ScopeKind, z.enum(['trace', 'session'])]).optional(),
    scope_id: z.string().max(1024).optional(),
    dedupe_key: z.string().max(2048).optional(),
  })
  .refine((m) => Object.keys(m).length > 0, 'a matcher needs at least one field')
export type SilenceMatcher = z.infer<typeof SilenceMatcher>

/** Body of POST /api/silences: a matcher and either an expiry instant or a duration. */
export const SilenceInput = z
  .strictObject({
    matcher: SilenceMatcher,
    expires_at: z.iso.datetime({ offset: true }).optional(),
    duration: z
      .string()
      .regex(/^\d+(m|h|d)$/, 'e.g. 30m, 4h, 7d')
      .optional(),
    comment: z.string().max(2000).default(''),
    created_by: z.string().max(256).default(''),
  })
  .refine((s) => Boolean(s.expires_at) !== Boolean(s.duration), 'give exactly one of expires_at, duration')
export type SilenceInput = z.infer<typeof SilenceInput>

/** A stored silence. */
export interface Silence {
  id: string
  matcher: SilenceMatcher
  comment: string
  created_by: string
  created_at: number
  expires_at: number
}
