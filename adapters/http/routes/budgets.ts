import type { FastifyInstance } from 'fastify'
import { GatewardenError } from '../../../core/errors.js'
import { jsonBody } from '../json-body.js'
import type { HttpPorts } from '../ports.js'

const notFound = (name: string) => new GatewardenError('GW_BUDGET_NOT_FOUND', `no budget ${name}`, false)
const actorOf = (q: { by?: unknown }) =>
  typeof q.by === 'string' && q.by !== '' ? q.by.slice(0, 256) : 'api'
const eventView = <E extends { at: number }>(e: E) => ({ ...e, at: new Date(e.at).toISOString() })

/**
 * GET /api/budgets (configured and runtime), GET /api/budgets/:name (with its audit), PUT
 * /api/budgets/:name (create or replace a runtime budget; takes effect within one detection tick),
 * DELETE /api/budgets/:name. Configured budgets are read-only here.
 */
export function budgetRoutes(app: FastifyInstance, ports: HttpPorts): void {
  const budgets = () => {
    if (!ports.budgets) throw new GatewardenError('GW_NOT_FOUND', 'budgets API not enabled', false)
    return ports.budgets
  }
  app.get('/api/budgets', async () => ({ budgets: await budgets().list() }))
  app.get<{ Params: { name: string } }>('/api/budgets/:name', async (req) => {
    const found = await budgets().get(req.params.name)
    if (!found) throw notFound(req.params.name)
    return { budget: found.budget, events: found.events.map(eventView) }
  })
  app.put<{ Params: { name: string }; Querystring: { by?: string } }>(
    '/api/budgets/:name',
    async (req, reply) => {
      const r = await budgets().put(req.params.name, jsonBody(req.body), actorOf(req.query))
      return reply
        .code(r.event.kind === 'created' ? 201 : 200)
        .send({ budget: r.budget, event: eventView(r.event) })
    },
  )
  app.delete<{ Params: { name: string }; Querystring: { by?: string } }>(
    '/api/budgets/:name',
    async (req) => {
      const e = await budgets().remove(req.params.name, actorOf(req.query))
      if (!e) throw notFound(req.params.name)
      return { event: eventView(e) }
    },
  )
}
