import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { GatewardenError } from '../../../core/errors.js'
import { ManualRuleInput, RuleScopeKind, type Rule, type RuleEvent } from '../../../schemas/rule.js'
import { jsonBody } from '../json-body.js'
import type { HttpPorts } from '../ports.js'

/** Query of GET /api/rules. `active` = in force (pending or active). */
export const RulesQuery = z.strictObject({
  state: z.enum(['active', 'all']).default('active'),
  scope_kind: RuleScopeKind.optional(),
  scope_id: z.string().min(1).max(1024).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(500),
})

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  throw new GatewardenError('GW_BAD_REQUEST', `${issue?.path.join('.') || 'input'}: ${issue?.message}`, false)
}

const iso = (ms: number) => new Date(ms).toISOString()

/** A rule as the API shows it: instants as ISO-8601. */
export function ruleView(r: Rule) {
  return {
    ...r,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
    expires_at: iso(r.expires_at),
    targets: r.targets.map((t) => ({ ...t, updated_at: iso(t.updated_at) })),
  }
}

const eventView = (e: RuleEvent) => ({ ...e, at: iso(e.at) })

const notFound = (id: string) => new GatewardenError('GW_RULE_NOT_FOUND', `no rule ${id}`, false)

/**
 * GET /api/rules, GET /api/rules/active (for gateways: ETag / If-None-Match -> 304), GET /api/rules/:id
 * (with its audit), POST /api/rules (by hand), DELETE /api/rules/:id (lift).
 */
export function ruleRoutes(app: FastifyInstance, ports: HttpPorts): void {
  const rules = () => {
    if (!ports.rules)
      throw new GatewardenError(
        'GW_ENFORCEMENT_OFF',
        'enforcement is off: set enforcement.mode (or GATEWARDEN_ENFORCEMENT_MODE) to dry_run or enforce',
        false,
      )
    return ports.rules
  }

  app.get('/api/rules/active', async (req, reply) => {
    const set = rules().active()
    reply.header('etag', set.version).header('cache-control', 'no-cache')
    const inm = req.headers['if-none-match']
    if (typeof inm === 'string' && inm.split(',').some((v) => v.trim() === set.version))
      return reply.code(304).send()
    return set
  })

  app.get('/api/rules', async (req) => {
    const q = parse(RulesQuery, req.query)
    const list = await rules().list({
      state: q.state === 'active' ? 'in_force' : 'all',
      scope_kind: q.scope_kind,
      scope_id: q.scope_id,
      limit: q.limit,
    })
    return { rules: list.map(ruleView) }
  })

  app.get<{ Params: { id: string } }>('/api/rules/:id', async (req) => {
    const found = await rules().get(req.params.id)
    if (!found) throw notFound(req.params.id)
    return { rule: ruleView(found.rule), events: found.events.map(eventView) }
  })

  app.post('/api/rules', async (req, reply) => {
    const body = jsonBody(req.body)
    const rule = await rules().create(parse(ManualRuleInput, body))
    return reply.code(201).send(ruleView(rule))
  })

  app.delete<{ Params: { id: string }; Querystring: { by?: string } }>('/api/rules/:id', async (req) => {
    const by = typeof req.query.by === 'string' && req.query.by !== '' ? req.query.by.slice(0, 256) : 'api'
    const rule = await rules().lift(req.params.id, by)
    if (!rule) throw notFound(req.params.id)
    return ruleView(rule)
  })
}
