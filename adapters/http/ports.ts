import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { CostAnswer, CostQuery } from '../../schemas/api.js'
import type { ServerConfig } from '../../schemas/config.js'
import type { IngestOutcome, OtlpOutcome } from '../../core/ingest/outcome.js'
import type { Alert } from '../../core/alerts/alert.js'
import type { Silence, SilenceInput } from '../../schemas/silence.js'
import type { AlertsQuery } from './routes/alerts.js'
import type { BudgetEvent } from '../../core/ports/budget-store.js'
import type { Budget } from '../../schemas/policy.js'
import type { RuleFilter } from '../../core/ports/rule-store.js'
import type { ConsoleAssets } from './console-assets.js'
import type { ActiveRules, ManualRuleInput, Rule, RuleEvent } from '../../schemas/rule.js'
import type { CustomerTier, CustomerTierEvent } from '../../schemas/customer-tier.js'

/** Health as /healthz reports it. */
export interface Health {
  ok: boolean
  store: 'ok' | 'unreachable'
  store_kind: string
  pending_rows: number
}

/** What the HTTP layer calls; the service wires these to the pipeline and the store. */
export interface HttpPorts {
  log: Logger
  server: ServerConfig
  /** A LiteLLM generic_api body as it arrived (encoding undone, split and mapped by the service); resolves once stored. */
  ingestLiteLLM(
    body: { bytes: Uint8Array; contentType?: string; contentEncoding?: string },
    origin: string,
  ): Promise<IngestOutcome>
  /** An OTLP `ExportTraceServiceRequest` in its JSON shape (protobuf bodies decoded); resolves once stored. */
  ingestOtlp(request: unknown, origin: string): Promise<OtlpOutcome>
  /** GET /api/cost (services/cost/cost-api.ts). */
  cost(q: CostQuery): Promise<CostAnswer | { error: string }>
  deadLetters(limit: number, source?: string): Promise<unknown[]>
  health(): Promise<Health>
  metrics(req: IncomingMessage, res: ServerResponse): void
  /** The web console's files (default: the `console/` folder shipped with the package). */
  console?: ConsoleAssets
  /** Alerts and silences; absent when detection is not wired (the routes then answer 404). */
  alerts?: {
    list(q: AlertsQuery): Promise<Array<Alert & { silenced: boolean }>>
    silences(includeExpired: boolean): Promise<Silence[]>
    createSilence(input: SilenceInput): Promise<Silence>
    deleteSilence(id: string): Promise<boolean>
  }
  /** Guardrail rules; absent when enforcement is off (the routes then answer 404). */
  rules?: {
    active(): ActiveRules
    list(filter: RuleFilter): Promise<Rule[]>
    get(id: string): Promise<{ rule: Rule; events: RuleEvent[] } | undefined>
    create(input: ManualRuleInput): Promise<Rule>
    lift(id: string, by: string): Promise<Rule | undefined>
  }
  /** Budgets at runtime (configured ones read-only). */
  budgets?: {
    list(): Promise<Array<Budget & { source: 'config' | 'api' }>>
    get(
      name: string,
    ): Promise<{ budget: Budget & { source: 'config' | 'api' }; events: BudgetEvent[] } | undefined>
    put(name: string, input: unknown, actor: string): Promise<{ budget: Budget; event: BudgetEvent }>
    remove(name: string, actor: string): Promise<BudgetEvent | undefined>
  }
  /** Customer tiers set through the API. */
  tiers?: {
    list(): CustomerTier[]
    get(customer: string): Promise<{ tier: CustomerTier | undefined; events: CustomerTierEvent[] }>
    set(
      customer: string,
      input: unknown,
      actor: string,
    ): Promise<{ tier: CustomerTier; event: CustomerTierEvent }>
    clear(customer: string, actor: string): Promise<CustomerTierEvent | undefined>
  }
}
