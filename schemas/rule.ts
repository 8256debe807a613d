import { z } from 'zod'
import { EnforcementAction } from './policy.js'

/** What a guardrail rule applies to at the gateway: one dimension, one value. */
export const RuleScopeKind = z.enum(['customer', 'team', 'key', 'endpoint', 'agent', 'model'])
export type RuleScopeKind = z.infer<typeof RuleScopeKind>

export const RuleScope = z.strictObject({
  kind: RuleScopeKind,
  /** The value to match: a customer id, team id or alias, key hash or alias, endpoint, agent, model. */
  id: z.string().min(1).max(1024),
})
export type RuleScope = z.infer<typeof RuleScope>

/** Why a rule exists: an alert (the detector decided) or a person. */
export const RuleReason = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('alert'),
    alert_id: z.string(),
    alert_type: z.string(),
    /** The alert's dedupe key: one rule per scope and cause. */
    dedupe_key: z.string(),
    summary: z.string(),
  }),
  z.strictObject({
    kind: z.literal('manual'),
    by: z.string().min(1).max(256),
    why: z.string().min(1).max(2048),
  }),
])
export type RuleReason = z.infer<typeof RuleReason>

/**
 * `pending`: created, not yet applied by every push target; `active`: in force; `lifted`: ended early (by
 * hand or because its alert resolved); `expired`: ran to `expires_at`; `failed`: no target could apply it.
 */
export const RuleState = z.enum(['pending', 'active', 'lifted', 'expired', 'failed'])
export type RuleState = z.infer<typeof RuleState>

/** Ended rules never come back: a re-fire of their cause makes a new rule (unless lifted by hand). */
export const isEndedRuleState = (s: RuleState): boolean => s === 'lifted' || s === 'expired'

/** One gateway target's view of a rule. */
export const TargetStatus = z.strictObject({
  target: z.string(),
  /** `applied`: the target holds the rule; `removed`: it was taken back; `skipped`: dry run or out of scope. */
  state: z.enum(['pending', 'applied', 'removed', 'failed', 'skipped']),
  attempts: z.number().int().min(0),
  last_error: z.string().nullable(),
  updated_at: z.number().int(),
})
export type TargetStatus = z.infer<typeof TargetStatus>

/** A guardrail rule as stored and as the API answers it. Times are epoch ms. */
export const Rule = z.strictObject({
  id: z.string(),
  scope: RuleScope,
  action: EnforcementAction,
  reason: RuleReason,
  /** `dry_run` rules go through every state but are never pushed nor served to gateways. */
  mode: z.enum(['enforce', 'dry_run']),
  state: RuleState,
  created_at: z.number().int(),
  updated_at: z.number().int(),
  expires_at: z.number().int(),
  /** Who or what ended it (`manual:<who>`, `alert_resolved`, `expiry`), or null while in force. */
  ended_by: z.string().nullable(),
  targets: z.array(TargetStatus),
})
export type Rule = z.infer<typeof Rule>

/** What happened to a rule: one row of the append-only audit (`rule_events`). */
export const RuleEventKind = z.enum([
  'created',
  'extended',
  'applied',
  'apply_failed',
  'removed',
  'remove_failed',
  'lifted',
  'expired',
  'failed',
])
export type RuleEventKind = z.infer<typeof RuleEventKind>

export const RuleEvent = z.strictObject({
  rule_id: z.string(),
  at: z.number().int(),
  kind: RuleEventKind,
  /** Who or what did it: `detector:<type>`, `manual:<who>`, `target:<name>`, `expiry`. */
  actor: z.string(),
  target: z.string(),
  /** The rule's state before and after, as JSON (empty when not a state change). */
  before: z.string(),
  after: z.string(),
  /** What the gateway answered (status, error message), shortened. */
  answer: z.string(),
})
export type RuleEvent = z.infer<typeof RuleEvent>

/** One rule as gateways see it (GET /api/rules/active). */
export const ActiveRule = z.strictObject({
  id: z.string(),
  scope: RuleScope,
  action: EnforcementAction,
  /** One line for the person who gets the 429 or the downgraded answer. */
  reason: z.string(),
  expires_at: z.number().int(),
})
export type ActiveRule = z.infer<typeof ActiveRule>

/**
 * GET /api/rules/active: the enforced rules in force now, blocks first, then oldest first. `version` is
 * the ETag; a gateway sends it back in `If-None-Match` and gets 304 while nothing changed. A gateway MUST
 * drop a rule at its `expires_at` even when it cannot reach Gatewarden (fail open).
 */
export const ActiveRules = z.strictObject({
  version: z.string(),
  generated_at: z.number().int(),
  rules: z.array(ActiveRule),
})
export type ActiveRules = z.infer<typeof ActiveRules>

const DurationText = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'e.g. 30m, 2h, 1d')

/** POST /api/rules: a rule by hand. Exactly one of `expires_at` (ISO or epoch ms) and `duration`. */
export const ManualRuleInput = z
  .strictObject({
    scope: RuleScope,
    action: EnforcementAction,
    by: z.string().min(1).max(256),
    why: z.string().min(1).max(2048),
    expires_at: z.union([z.number().int(), z.string()]).optional(),
    duration: DurationText.optional(),
  })
  .refine((r) => (r.expires_at === undefined) !== (r.duration === undefined), {
    message: 'set exactly one of expires_at, duration',
  })
export type ManualRuleInput = z.infer<typeof ManualRuleInput>
