import { z } from 'zod'

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

/** A duration written as `500ms`, `30s`, `5m`, `1h`, `14d`, `2w`; parsed to milliseconds. */
export const Duration = z.union([z.string(), z.number().int().min(0)]).transform((v, ctx) => {
  if (typeof v === 'number') return v
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(v.trim())
  if (!m) {
    ctx.addIssue({
      code: 'custom',
      message: `not a duration: ${JSON.stringify(v)} (use e.g. 30s, 5m, 1h, 14d)`,
    })
    return z.NEVER
  }
  return Math.round(Number(m[1]) * UNITS[m[2]!]!)
})

/** An IANA time zone the runtime knows (`UTC`, `Europe/Paris`). */
export const TimeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return true
  } catch {
    return false
  }
}, 'unknown time zone (use an IANA name such as UTC or Europe/Paris)')

/** Attribution dimensions a budget or detector can be scoped to; `global` has no id. */
export const ScopeKind = z.enum(['customer', 'team', 'key', 'endpoint', 'agent', 'model', 'global'])
export type ScopeKind = z.infer<typeof ScopeKind>

/**
 * What a budget covers: `{}` = global, `{ customer: acme }` = one customer, `{ customer: "*" }` = each
 * customer separately. At most one dimension.
 */
export const BudgetScope = z
  .strictObject({
    customer: z.string().min(1).optional(),
    team: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    endpoint: z.string().min(1).optional(),
    agent: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    /** Each customer of this tier separately (`{ tier: pro }`); a tier is never `*`. */
    tier: z
      .string()
      .min(1)
      .refine((t) => t !== '*', 'a tier budget names one tier (it already applies to each customer of it)')
      .optional(),
  })
  .refine((s) => Object.keys(s).length <= 1, 'a budget scope names at most one dimension')
export type BudgetScope = z.infer<typeof BudgetScope>

/** What to do at the gateway: route to cheaper models, or refuse. `*` in a map matches any model. */
export const EnforcementAction = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('downgrade'), map: z.record(z.string().min(1), z.string().min(1)) }),
  z.strictObject({ action: z.literal('block') }),
])
export type EnforcementAction = z.infer<typeof EnforcementAction>

export const Budget = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'letters, digits, _ . - only'),
  scope: BudgetScope.default({}),
  limit_usd: z.number().positive(),
  period: z.enum(['day', 'week', 'month']),
  timezone: TimeZone.prefault('UTC'),
  on_exhausted: EnforcementAction.optional(),
})
export type Budget = z.infer<typeof Budget>

export const Severity = z.enum(['page', 'ticket', 'info'])
export type Severity = z.infer<typeof Severity>

export const BurnRateWindow = z.strictObject({
  long: Duration,
  short: Duration,
  factor: z.number().positive(),
  severity: Severity,
})
export type BurnRateWindow = z.infer<typeof BurnRateWindow>

/** Google SRE workbook's multi-window, multi-burn-rate pairs for a 30-day budget. */
export const DEFAULT_BURN_RATE_WINDOWS = [
  { long: '1h', short: '5m', factor: 14.4, severity: 'page' },
  { long: '6h', short: '30m', factor: 6, severity: 'page' },
  { long: '1d', short: '2h', factor: 3, severity: 'ticket' },
  { long: '3d', short: '6h', factor: 1, severity: 'ticket' },
] as const

const Clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour')

export const BusinessHours = z.strictObject({
  /** `mon-fri`, `mon,wed,fri`, `sat-sun`. */
  days: z
    .string()
    .regex(
      /^(mon|tue|wed|thu|fri|sat|sun)([-,](mon|tue|wed|thu|fri|sat|sun))*$/,
      'e.g. mon-fri or mon,wed,fri',
    ),
  from: Clock,
  to: Clock,
  timezone: TimeZone.prefault('UTC'),
})
export type BusinessHours = z.infer<typeof BusinessHours>

/**
 * Hysteresis of one detector's alerts, spread into its config (`...resolveAfter('5m')`): an alert
 * resolves only once its condition has been clear this long; a re-fire before that reopens the same
 * alert (one incident, one page). `0s` resolves at once. A detector config without the key gets
 * `DEFAULT_RESOLVE_AFTER` (see core/alerts/resolve-after.ts).
 */
export function resolveAfter(fallback: string) {
  return { resolve_after: Duration.prefault(fallback) }
}

/** Each value of these five dimensions separately: the spend anomaly detector's default scopes. */
export const DEFAULT_SPEND_ANOMALY_SCOPES = [
  { customer: '*' },
  { endpoint: '*' },
  { agent: '*' },
  { key: '*' },
  { model: '*' },
] as const

/**
 * Spend anomaly detector: a scope's spend rate over `window` against its usual rate for that hour of the
 * week (core/detectors/spend-anomaly.ts). Defaults measured on the benchmark's clean traffic (README).
 */
export const SpendAnomalyConfig = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** What is judged: `{ customer: "*" }` = each customer separately, `{ model: gpt-4o }` = one value, `{}` = global. */
    scopes: z
      .array(
        // baselines come from the hourly rollup, which keeps no tier
        BudgetScope.refine((s) => !('tier' in s), {
          message:
            'a tier scope cannot be judged for spend anomalies (the hourly rollup keeps no tier); use budgets',
        }),
      )
      .min(1)
      .prefault(DEFAULT_SPEND_ANOMALY_SCOPES.map((s) => ({ ...s }))),
    /** The recent spend judged (a rate per hour over this trailing window). */
    window: Duration.prefault('15m'),
    /** Weeks of the same hour-of-week the baseline is the median of. */
    weeks: z.number().int().min(2).max(8).default(4),
    /** A scope seen for less than this is not judged (no baseline yet; budgets cover new scopes). */
    min_history: Duration.prefault('1d'),
    /** Relative threshold: the window's rate must be at least this many times the baseline. */
    factor: z.number().min(1).default(3),
    /** Absolute threshold: and at least this many USD per hour above the baseline. */
    min_excess_usd_per_hour: z.number().min(0).default(2),
    /** And this many robust standard deviations (1.4826 MAD) above it, for scopes that vary a lot. */
    mad_factor: z.number().min(0).default(5),
    /** Below this spend in the window nothing fires (USD). */
    min_spend_usd: z.number().min(0).default(0.5),
    /** Below this many requests in the window nothing fires. */
    min_requests: z.number().int().min(0).default(20),
    /** An anomaly resolves once its condition has been clear this long (hysteresis). */
    clear_for: Duration.prefault('30m'),
    severity: Severity.default('page'),
    /** Gateway rule for the scope (downgrade or block), applied by the enforcer. */
    action: EnforcementAction.optional(),
    // its own `clear_for` is its hysteresis: no second hold on top of it by default
    ...resolveAfter('0s'),
  })
  .refine((c) => c.window >= 60_000 && c.window <= 3_600_000, {
    message: 'window must be between 1m and 1h',
    path: ['window'],
  })
  .refine((c) => c.window % 60_000 === 0, { message: 'window must be whole minutes', path: ['window'] })
export type SpendAnomalyConfig = z.infer<typeof SpendAnomalyConfig>

export const DetectorsConfig = z.strictObject({
  /** How often detectors evaluate besides on each event (bounds detection latency). */
  tick: Duration.prefault('5s'),
  /** How late an event may arrive and still be evaluated in order (watermark lag). */
  allowed_lateness: Duration.prefault('5s'),
  burn_rate: z
    .strictObject({
      enabled: z.boolean().default(true),
      windows: z
        .array(BurnRateWindow)
        .min(1)
        .prefault(DEFAULT_BURN_RATE_WINDOWS.map((w) => ({ ...w }))),
      /** A short window empties between sparse calls: hold the resolution so one incident is one page. */
      ...resolveAfter('15m'),
    })
    .prefault({}),
  budget_exhaustion: z
    .strictObject({
      enabled: z.boolean().default(true),
      thresholds: z.array(z.number().positive().max(10)).min(1).default([0.5, 0.8, 0.95, 1.0]),
      forecast_horizon: Duration.prefault('24h'),
      /** Resolutions are final (rollover, raised limit) and lift a block: none held by default. */
      ...resolveAfter('0s'),
    })
    .prefault({}),
  loop: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Repeats of one fingerprint within `window` in one scope that make a loop. */
      threshold: z.number().int().min(2).default(5),
      window: Duration.prefault('60s'),
      /** Scopes a loop is counted in: per API key, per trace/session, per agent. */
      scope: z
        .array(z.enum(['key', 'trace', 'session', 'agent']))
        .min(1)
        .default(['key', 'trace']),
      /** Same error type repeated this often within `window` in one scope = an error loop. */
      error_threshold: z.number().int().min(2).default(10),
      /**
       * Most (scope, fingerprint or error) entries held (each active fingerprint is one per scope); beyond,
       * the least recently seen 10% are evicted at once (counted; an evicted open loop resolves). About
       * 200-300 bytes each: the default bounds the loop state to roughly 0.5 GB.
       */
      max_entries: z.number().int().min(1000).default(2_000_000),
      action: EnforcementAction.optional(),
      ...resolveAfter('5m'),
    })
    .prefault({}),
  zombie: z
    .strictObject({
      enabled: z.boolean().default(true),
      business_hours: BusinessHours.prefault({ days: 'mon-fri', from: '08:00', to: '19:00' }),
      /** Off-hours requests by one agent (per off-hours stretch) before it is flagged. */
      min_requests: z.number().int().min(1).default(20),
      /** Or off-hours spend above this (USD). */
      min_spend_usd: z.number().min(0).default(1),
      /** A session/trace alive longer than this with a steady cadence. */
      max_session: Duration.prefault('2h'),
      /** An agent silent this long that comes back. */
      dormant_after: Duration.prefault('14d'),
      /** Keys (hash or alias) whose traffic is an agent's even without an agent field. */
      agent_keys: z.array(z.string().min(1)).default([]),
      /** Gateway rule for the zombie agent (downgrade or block its agent), applied by the enforcer. */
      action: EnforcementAction.optional(),
      ...resolveAfter('5m'),
    })
    .prefault({}),
  spend_anomaly: SpendAnomalyConfig.prefault({}),
})
export type DetectorsConfig = z.infer<typeof DetectorsConfig>

const SecretEnv = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'name of an environment variable holding the secret')

/** Where alerts go. Secrets are named by environment variable, never written in the file. */
export const AlertChannel = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('email'),
    name: z.string().optional(),
    smtp_url: z.string().regex(/^smtps?:\/\//, 'smtp:// or smtps:// URL'),
    smtp_password_env: SecretEnv.optional(),
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
  }),
  z
    .strictObject({
      type: z.literal('slack'),
      name: z.string().optional(),
      /** The incoming-webhook URL is a secret: prefer `webhook_url_env`. */
      webhook_url: z.url({ protocol: /^https?$/ }).optional(),
      webhook_url_env: SecretEnv.optional(),
    })
    .refine(
      (c) => Boolean(c.webhook_url) !== Boolean(c.webhook_url_env),
      'set exactly one of webhook_url, webhook_url_env',
    ),
  z.strictObject({
    type: z.literal('webhook'),
    name: z.string().optional(),
    url: z.url({ protocol: /^https?$/ }),
    secret_env: SecretEnv.optional(),
  }),
  z.strictObject({
    type: z.literal('pagerduty'),
    name: z.string().optional(),
    routing_key_env: SecretEnv,
    events_url: z.url().default('https://events.pagerduty.com/v2/enqueue'),
  }),
])
export type AlertChannel = z.infer<typeof AlertChannel>

export const AlertsConfig = z.strictObject({
  channels: z.array(AlertChannel).default([]),
  /** Re-send a still-firing alert this often. */
  renotify: Duration.prefault('4h'),
  /** Alerts of one type starting within this window go out as one grouped notification per channel. */
  group_window: Duration.prefault('30s'),
  /** At most this many notifications per channel per hour; the rest wait in the outbox (never dropped). */
  max_per_channel_per_hour: z.number().int().min(1).default(60),
  /** Base URL of Gatewarden's page, for links in alerts. */
  public_url: z.url().optional(),
  /** Grafana dashboard URL, for links in alerts. */
  grafana_url: z.url().optional(),
  /**
   * Alert changes held in memory while the store refuses them: past this many, the changes not yet tried
   * are coalesced (the latest state of each alert; an incident that came and went while a newer one of
   * the same scope followed is dropped), so memory is bounded by the alerts, not the outage's length.
   */
  max_unsaved_changes: z.number().int().min(1).default(1_000),
})
export type AlertsConfig = z.infer<typeof AlertsConfig>
