import { z } from 'zod'
import { Duration } from './policy.js'

const SecretEnv = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'name of an environment variable holding the secret')

/** A gateway that rules are pushed to. Secrets are named by env variable or file, never written here. */
export const GatewayTargetConfig = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('litellm_admin'),
      name: z.string().min(1).default('litellm-admin'),
      /** The DB-backed LiteLLM proxy's base URL (its /key, /team, /customer admin routes). */
      url: z.url({ protocol: /^https?$/ }),
      master_key_env: SecretEnv.optional(),
      master_key_file: z.string().min(1).optional(),
      timeout: Duration.prefault('10s'),
    })
    .refine(
      (t) => Boolean(t.master_key_env) !== Boolean(t.master_key_file),
      'set exactly one of master_key_env, master_key_file',
    ),
  z.strictObject({
    type: z.literal('webhook'),
    name: z.string().min(1).default('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    /** HMAC key, same scheme as the alert webhook (X-Gatewarden-Signature). */
    secret_env: SecretEnv.optional(),
    timeout: Duration.prefault('10s'),
  }),
])
export type GatewayTargetConfig = z.infer<typeof GatewayTargetConfig>

/**
 * Guardrails at the gateway. `off`: findings only alert. `dry_run`: every rule is created, audited and
 * expires as it would, but nothing is pushed nor served to hooks. `enforce`: rules are pushed to the
 * targets and served on GET /api/rules/active (the LiteLLM hook polls it).
 */
export const EnforcementConfig = z.strictObject({
  mode: z.enum(['off', 'dry_run', 'enforce']).default('off'),
  /** Every rule expires; these are the defaults per action (a budget rule also ends with its period). */
  ttl: z
    .strictObject({
      downgrade: Duration.prefault('1h'),
      block: Duration.prefault('15m'),
    })
    .prefault({}),
  /** Lift a detector's rule when its alert resolves (else it runs until it expires). */
  lift_on_resolve: z.boolean().default(true),
  /** How often pending pushes are retried and expiries applied. */
  tick: Duration.prefault('5s'),
  /** Gateways rules are pushed to; the LiteLLM hook needs none (it polls). */
  targets: z.array(GatewayTargetConfig).default([]),
  /** Models the gateway serves: a downgrade may only point at one of these (empty: not checked). */
  gateway_models: z.array(z.string().min(1)).default([]),
})
export type EnforcementConfig = z.infer<typeof EnforcementConfig>
