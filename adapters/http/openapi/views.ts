import { z } from 'zod'
import { CostPeriod } from '../../../schemas/api.js'
import { Budget } from '../../../schemas/policy.js'
import { RuleEvent, Rule, TargetStatus } from '../../../schemas/rule.js'
import { SilenceMatcher } from '../../../schemas/silence.js'

// Shapes of the answers as the routes send them (instants as ISO-8601 strings), for the OpenAPI
// document only: the routes build these from the stored types (ruleView, eventView, ...).

const Instant = z.iso.datetime()

/** Every error answer. */
export const ErrorAnswer = z.object({
  error: z.object({
    code: z.string().meta({ description: 'stable code, e.g. GW_BAD_REQUEST' }),
    message: z.string(),
  }),
})

export const IngestAnswer = z.object({
  accepted: z.number().int().meta({ description: 'events newly stored' }),
  rejected: z.number().int().meta({ description: 'items dead-lettered' }),
  duplicates: z.number().int().meta({ description: 'events already stored under their event_id' }),
})

export const OtlpAnswer = z.object({
  partialSuccess: z.object({ rejectedSpans: z.string(), errorMessage: z.string() }).optional(),
})

export const CostRowView = z
  .object({
    cost_usd: z.number(),
    requests: z.number().int(),
    failures: z.number().int(),
    input_tokens: z.number().int(),
    output_tokens: z.number().int(),
    cached_tokens: z.number().int(),
    key_alias: z.string().optional().meta({ description: 'with group_by key' }),
    previous_cost_usd: z.number().optional().meta({ description: 'with compare=previous' }),
    delta_usd: z.number().optional(),
    delta_pct: z.number().nullable().optional().meta({ description: 'null when the previous cost was 0' }),
  })
  .catchall(z.string())
  .meta({
    description:
      'the group_by dimensions (strings; "(other)" on the row summing the rest past top), then the sums',
  })

export const CostAnswerView = z.object({
  rows: z.array(CostRowView),
  total: CostRowView,
  from: Instant,
  to: Instant,
  source: z.enum(['spend_by_hour', 'spend_by_minute', 'requests']),
  timezone: z.string(),
  period: CostPeriod.optional(),
  previous: z.object({ from: Instant, to: Instant, source: z.string() }).optional(),
})

export const AlertView = z.object({
  id: z.string(),
  type: z.enum(['burn_rate', 'budget_exhaustion', 'loop', 'zombie_agent']),
  severity: z.enum(['page', 'ticket', 'info']),
  state: z.enum(['firing', 'resolved']),
  scope: z.object({ kind: z.string(), id: z.string() }),
  started_at: Instant,
  resolved_at: Instant.nullable(),
  summary: z.string(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  links: z.object({ page: z.string().optional(), grafana: z.string().optional() }),
  silenced: z.boolean(),
  dedupe_key: z.string(),
})

export const SilenceView = z.object({
  id: z.string(),
  matcher: SilenceMatcher,
  comment: z.string(),
  created_by: z.string(),
  created_at: Instant,
  expires_at: Instant,
})

export const RuleView = Rule.extend({
  created_at: Instant,
  updated_at: Instant,
  expires_at: Instant,
  targets: z.array(TargetStatus.extend({ updated_at: Instant })),
})
export const RuleEventView = RuleEvent.extend({ at: Instant })

export const BudgetView = Budget.extend({ source: z.enum(['config', 'api']) })
export const BudgetEventView = z.object({
  name: z.string(),
  at: Instant,
  kind: z.enum(['created', 'updated', 'deleted']),
  actor: z.string(),
  before: z.string(),
  after: z.string(),
})

export const DeadLetterView = z.object({
  received_at: z.string(),
  source: z.string(),
  origin: z.string(),
  reason: z.string(),
  raw: z.string(),
  raw_bytes: z.number().int(),
})

export const HealthView = z.object({
  ok: z.boolean(),
  store: z.enum(['ok', 'unreachable']),
  store_kind: z.string(),
  pending_rows: z.number().int(),
})

/** `?by=` on writes: who did it, for the audit (default `api`). */
export const ActorQuery = z.object({ by: z.string().max(256).optional() })

/** A customer's tier set through the API. */
export const CustomerTierView = z.object({
  customer: z.string(),
  tier: z.string(),
  updated_at: Instant,
  updated_by: z.string(),
})
export const CustomerTierEventView = z.object({
  customer: z.string(),
  at: Instant,
  action: z.enum(['set', 'cleared']),
  actor: z.string(),
  before: z.string(),
  after: z.string(),
})
