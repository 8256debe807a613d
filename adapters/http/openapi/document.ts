import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi'
import { z } from 'zod'
import { CostQuery } from '../../../schemas/api.js'
import { StandardLoggingPayload } from '../../../schemas/litellm-payload.js'
import { CustomerTierInput } from '../../../schemas/customer-tier.js'
import { Budget } from '../../../schemas/policy.js'
import { ActiveRules, ManualRuleInput } from '../../../schemas/rule.js'
import { SilenceInput } from '../../../schemas/silence.js'
import { AlertsQuery, SilencesQuery } from '../routes/alerts.js'
import { DeadLetterQuery } from '../routes/ops.js'
import { RulesQuery } from '../routes/rules.js'
import {
  ActorQuery,
  AlertView,
  BudgetEventView,
  BudgetView,
  CostAnswerView,
  CustomerTierEventView,
  CustomerTierView,
  DeadLetterView,
  ErrorAnswer,
  HealthView,
  IngestAnswer,
  OtlpAnswer,
  RuleEventView,
  RuleView,
  SilenceView,
} from './views.js'

type Responses = RouteConfig['responses']

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema } },
})
const error = (description: string) => json(ErrorAnswer, description)
/** The answers every authenticated route may give besides its own. */
const common: Responses = {
  400: error('bad request: the message names the parameter'),
  401: error('missing or wrong bearer token (when server.auth_token is set)'),
}
const idParam = z.object({ id: z.string() })
const nameParam = z.object({ name: z.string() })
const customerParam = z.object({ customer: z.string() })
const html = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } })

function registerAll(r: OpenAPIRegistry): void {
  const bearer = r.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' })
  const secured = [{ [bearer.name]: [] }]
  const api = (route: RouteConfig) =>
    r.registerPath({ security: secured, ...route, responses: { ...common, ...route.responses } })

  api({
    method: 'post',
    path: '/ingest/litellm',
    tags: ['ingest'],
    summary:
      'LiteLLM generic_api logs: a JSON array, NDJSON or one object (gzip/deflate accepted); answers once stored',
    request: {
      body: {
        required: true,
        content: {
          'application/json': { schema: z.union([z.array(StandardLoggingPayload), StandardLoggingPayload]) },
          'application/x-ndjson': {
            schema: z.string().meta({ description: 'one StandardLoggingPayload per line' }),
          },
        },
      },
    },
    responses: {
      200: json(IngestAnswer, 'stored; accepted + rejected + duplicates = items sent'),
      413: error('body over server.body_limit_bytes (also after decompression)'),
      415: error('unknown Content-Encoding'),
      503: error('store behind or down: retry after Retry-After'),
    },
  })
  api({
    method: 'post',
    path: '/v1/traces',
    tags: ['ingest'],
    summary: 'OTLP/HTTP trace export (protobuf or JSON); every LLM span becomes one event',
    request: {
      body: {
        required: true,
        content: {
          'application/x-protobuf': {
            schema: z.string().meta({ format: 'binary', description: 'ExportTraceServiceRequest' }),
          },
          'application/json': {
            schema: z.looseObject({ resourceSpans: z.array(z.looseObject({})).optional() }).meta({
              description: 'ExportTraceServiceRequest in its proto3 JSON mapping',
            }),
          },
        },
      },
    },
    responses: {
      200: {
        description:
          'ExportTraceServiceResponse, in the request encoding; partialSuccess when spans were rejected',
        content: {
          'application/json': { schema: OtlpAnswer },
          'application/x-protobuf': { schema: z.string().meta({ format: 'binary' }) },
        },
      },
      413: error('body too large'),
      415: error('Content-Type neither application/x-protobuf nor application/json'),
      503: error('store behind or down: retry after Retry-After'),
    },
  })
  api({
    method: 'get',
    path: '/api/cost',
    tags: ['cost'],
    summary: 'spend grouped by dimensions over a range or a named period, most expensive first, with a total',
    request: { query: CostQuery },
    responses: {
      200: {
        description: 'the rows and the total (format=csv: the rows as CSV, one header line)',
        content: { 'application/json': { schema: CostAnswerView }, 'text/csv': { schema: z.string() } },
      },
    },
  })
  api({
    method: 'get',
    path: '/api/alerts',
    tags: ['alerts'],
    summary: 'alerts, newest first',
    request: { query: AlertsQuery },
    responses: {
      200: json(z.object({ alerts: z.array(AlertView) }), 'alerts'),
      404: error('alerting not enabled'),
    },
  })
  api({
    method: 'get',
    path: '/api/silences',
    tags: ['silences'],
    summary: 'silences in force (all=true: expired too)',
    request: { query: SilencesQuery },
    responses: { 200: json(z.object({ silences: z.array(SilenceView) }), 'silences') },
  })
  api({
    method: 'post',
    path: '/api/silences',
    tags: ['silences'],
    summary: 'mute the alerts a matcher selects until an instant or for a duration',
    request: { body: { required: true, content: { 'application/json': { schema: SilenceInput } } } },
    responses: { 201: json(SilenceView, 'created') },
  })
  api({
    method: 'delete',
    path: '/api/silences/{id}',
    tags: ['silences'],
    summary: 'end a silence',
    request: { params: idParam },
    responses: { 204: { description: 'deleted' }, 404: error('no such silence') },
  })
  api({
    method: 'get',
    path: '/api/rules/active',
    tags: ['rules'],
    summary: 'the enforced rules in force, for gateways (ETag / If-None-Match)',
    responses: {
      200: json(ActiveRules, 'the active set; its version is the ETag'),
      304: { description: 'unchanged since If-None-Match' },
      404: error('enforcement is off (GW_ENFORCEMENT_OFF)'),
    },
  })
  api({
    method: 'get',
    path: '/api/rules',
    tags: ['rules'],
    summary: 'guardrail rules (state=active: in force; all: history too)',
    request: { query: RulesQuery },
    responses: {
      200: json(z.object({ rules: z.array(RuleView) }), 'rules'),
      404: error('enforcement is off'),
    },
  })
  api({
    method: 'get',
    path: '/api/rules/{id}',
    tags: ['rules'],
    summary: 'one rule with its audit',
    request: { params: idParam },
    responses: {
      200: json(z.object({ rule: RuleView, events: z.array(RuleEventView) }), 'the rule'),
      404: error('no such rule'),
    },
  })
  api({
    method: 'post',
    path: '/api/rules',
    tags: ['rules'],
    summary: 'a rule by hand',
    request: { body: { required: true, content: { 'application/json': { schema: ManualRuleInput } } } },
    responses: { 201: json(RuleView, 'created') },
  })
  api({
    method: 'delete',
    path: '/api/rules/{id}',
    tags: ['rules'],
    summary: 'lift a rule',
    request: { params: idParam, query: ActorQuery },
    responses: { 200: json(RuleView, 'lifted'), 404: error('no such rule') },
  })
  api({
    method: 'get',
    path: '/api/budgets',
    tags: ['budgets'],
    summary: 'budgets from the config file and from the API',
    responses: { 200: json(z.object({ budgets: z.array(BudgetView) }), 'budgets') },
  })
  api({
    method: 'get',
    path: '/api/budgets/{name}',
    tags: ['budgets'],
    summary: 'one budget with its audit',
    request: { params: nameParam },
    responses: {
      200: json(z.object({ budget: BudgetView, events: z.array(BudgetEventView) }), 'the budget'),
      404: error('no such budget'),
    },
  })
  api({
    method: 'put',
    path: '/api/budgets/{name}',
    tags: ['budgets'],
    summary: 'create or replace a runtime budget (configured ones are read-only)',
    request: {
      params: nameParam,
      query: ActorQuery,
      body: { required: true, content: { 'application/json': { schema: Budget.omit({ name: true }) } } },
    },
    responses: {
      200: json(z.object({ budget: BudgetView, event: BudgetEventView }), 'replaced'),
      201: json(z.object({ budget: BudgetView, event: BudgetEventView }), 'created'),
      409: error('the budget comes from the config file (GW_BUDGET_READONLY)'),
    },
  })
  api({
    method: 'delete',
    path: '/api/budgets/{name}',
    tags: ['budgets'],
    summary: 'delete a runtime budget',
    request: { params: nameParam, query: ActorQuery },
    responses: { 200: json(z.object({ event: BudgetEventView }), 'deleted'), 404: error('no such budget') },
  })
  api({
    method: 'get',
    path: '/api/customers/tiers',
    tags: ['customers'],
    summary: 'customer tiers set through the API (they win over the payload tier)',
    responses: { 200: json(z.object({ tiers: z.array(CustomerTierView) }), 'tiers') },
  })
  api({
    method: 'get',
    path: '/api/customers/{customer}/tier',
    tags: ['customers'],
    summary: "a customer's API tier (null once cleared) with its audit",
    request: { params: customerParam },
    responses: {
      200: json(
        z.object({
          customer: z.string(),
          tier: CustomerTierView.nullable(),
          events: z.array(CustomerTierEventView),
        }),
        'the tier',
      ),
      404: error('no tier was ever set for this customer'),
    },
  })
  api({
    method: 'put',
    path: '/api/customers/{customer}/tier',
    tags: ['customers'],
    summary:
      "set a customer's tier; applies to its calls stored from now on, on every instance within a tick",
    request: {
      params: customerParam,
      query: ActorQuery,
      body: { required: true, content: { 'application/json': { schema: CustomerTierInput } } },
    },
    responses: { 200: json(z.object({ tier: CustomerTierView, event: CustomerTierEventView }), 'set') },
  })
  api({
    method: 'delete',
    path: '/api/customers/{customer}/tier',
    tags: ['customers'],
    summary: "clear a customer's API tier (the payload's tier applies again)",
    request: { params: customerParam, query: ActorQuery },
    responses: {
      200: json(z.object({ event: CustomerTierEventView }), 'cleared'),
      404: error('no tier set'),
    },
  })
  api({
    method: 'get',
    path: '/api/dead-letters',
    tags: ['dead letters'],
    summary: 'newest dead letters: raw input (first 64 KiB), where it came from, and why',
    request: { query: DeadLetterQuery },
    responses: { 200: json(z.object({ dead_letters: z.array(DeadLetterView) }), 'dead letters') },
  })
  api({
    method: 'get',
    path: '/api/openapi.json',
    tags: ['ops'],
    summary: 'this document',
    responses: {
      200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: z.looseObject({}) } } },
    },
  })
  api({
    method: 'get',
    path: '/alerts',
    tags: ['alerts'],
    summary: 'the alerts page (HTML) alert links point to',
    responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
  })
  // the console's files hold no data (every number comes from the API above, behind the token)
  r.registerPath({
    method: 'get',
    path: '/',
    tags: ['console'],
    summary: 'the web console (open: it asks for the token and sends it on every API call)',
    responses: { 200: html('the console page') },
  })
  r.registerPath({
    method: 'get',
    path: '/console/{path}',
    tags: ['console'],
    summary: "the console's modules and styles",
    request: {
      params: z.object({
        path: z.string().meta({ description: 'a file under console/ (a fastify wildcard)' }),
      }),
    },
    responses: { 200: { description: 'a static file' }, 404: error('no such file') },
  })
  for (const file of ['uplot.js', 'uplot.css'])
    r.registerPath({
      method: 'get',
      path: `/console/vendor/${file}`,
      tags: ['console'],
      summary: `uPlot (${file}), vendored from node_modules`,
      responses: { 200: { description: file } },
    })
  r.registerPath({
    method: 'get',
    path: '/healthz',
    tags: ['ops'],
    summary: 'health (open without token)',
    responses: { 200: json(HealthView, 'healthy'), 503: json(HealthView, 'store unreachable') },
  })
  r.registerPath({
    method: 'get',
    path: '/metrics',
    tags: ['ops'],
    summary: 'Prometheus text exposition (open without token)',
    responses: { 200: { description: 'metrics', content: { 'text/plain': { schema: z.string() } } } },
  })
}

let cached: object | undefined

/**
 * The OpenAPI 3.1 document of the whole HTTP API, generated from the zod schemas the routes parse with
 * (and the answer shapes in views.ts). Built once. A route without an entry here fails
 * test/integration/openapi.test.ts.
 */
export function openApiDocument(version: string): object {
  if (cached) return cached
  const r = new OpenAPIRegistry()
  registerAll(r)
  const doc = new OpenApiGeneratorV31(r.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Gatewarden API',
      version,
      description: 'Ingest, cost, alerts, silences, guardrail rules, budgets, dead letters and health.',
    },
  })
  // comma lists (group_by=customer,model): not the exploded form an array parameter has by default
  for (const op of Object.values(doc.paths ?? {}))
    for (const p of op.get?.parameters ?? [])
      if ('name' in p && p.name === 'group_by') Object.assign(p, { style: 'form', explode: false })
  cached = doc
  return doc
}
