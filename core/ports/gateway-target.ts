import type { Rule } from '../../schemas/rule.js'

/** What a gateway answered to one push. `answer` is a short, redacted excerpt for the audit. */
export type TargetOutcome =
  | { ok: true; answer: string }
  | { ok: false; retryable: boolean; code: string; message: string; answer: string }

/**
 * A gateway that rules are PUSHED to (LiteLLM admin API, a webhook). The LiteLLM hook needs no target:
 * it PULLS `GET /api/rules/active`.
 * MUST: `apply` and `remove` are idempotent (the enforcer re-drives them after a crash or a failure);
 * `remove` restores exactly what the gateway had before `apply` (e.g. a key's previous aliases); a
 * target never widens access; secrets never appear in `answer` or `message`.
 */
export interface GatewayTarget {
  /** Stable name, recorded per rule (`litellm-admin`, `webhook:<name>`). */
  readonly name: string
  /** False when this target cannot express the rule (e.g. the admin API has no `endpoint` scope). */
  supports(rule: Rule): boolean
  apply(rule: Rule): Promise<TargetOutcome>
  remove(rule: Rule): Promise<TargetOutcome>
}
