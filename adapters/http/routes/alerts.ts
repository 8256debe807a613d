import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { GatewardenError } from '../../../core/errors.js'
import { SilenceInput } from '../../../schemas/silence.js'
import { jsonBody } from '../json-body.js'
import type { HttpPorts } from '../ports.js'

/** Query of GET /api/alerts. */
export const AlertsQuery = z.strictObject({
  state: z.enum(['firing', 'resolved']).optional(),
  since: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 date or date-time')
    .transform((s) => Date.parse(s))
    .optional(),
  type: z.enum(['burn_rate', 'budget_exhaustion', 'loop', 'zombie_agent', 'spend_anomaly']).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(500),
})
export type AlertsQuery = z.infer<typeof AlertsQuery>

/** Query of GET /api/silences: `all=true` includes expired ones. */
export const SilencesQuery = z.strictObject({ all: z.enum(['true', 'false']).default('false') })

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  throw new GatewardenError('GW_BAD_REQUEST', `${issue?.path.join('.') || 'input'}: ${issue?.message}`, false)
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** GET /api/alerts, GET|POST /api/silences, DELETE /api/silences/:id. */
export function alertRoutes(app: FastifyInstance, ports: HttpPorts): void {
  const alerts = () => {
    if (!ports.alerts) throw new GatewardenError('GW_NOT_FOUND', 'alerting is not enabled', false)
    return ports.alerts
  }

  app.get('/api/alerts', async (req) => {
    const q = parse(AlertsQuery, req.query)
    const rows = await alerts().list(q)
    return {
      alerts: rows.map((a) => ({
        id: a.id,
        type: a.type,
        severity: a.severity,
        state: a.state,
        scope: a.scope,
        started_at: iso(a.started_at),
        resolved_at: iso(a.resolved_at),
        summary: a.summary,
        details: a.details,
        links: a.links,
        silenced: a.silenced,
        dedupe_key: a.dedupe_key,
      })),
    }
  })

  app.get('/api/silences', async (req) => {
    const q = parse(SilencesQuery, req.query)
    const list = await alerts().silences(q.all === 'true')
    return {
      silences: list.map((s) => ({ ...s, created_at: iso(s.created_at), expires_at: iso(s.expires_at) })),
    }
  })

  app.post('/api/silences', async (req, reply) => {
    const body = jsonBody(req.body)
    const s = await alerts().createSilence(parse(SilenceInput, body))
    return reply.code(201).send({ ...s, created_at: iso(s.created_at), expires_at: iso(s.expires_at) })
  })

  app.delete<{ Params: { id: string } }>('/api/silences/:id', async (req, reply) => {
    if (!(await alerts().deleteSilence(req.params.id))) {
      throw new GatewardenError('GW_NOT_FOUND', `no silence ${req.params.id}`, false)
    }
    return reply.code(204).send()
  })
}
