import type { FastifyInstance } from 'fastify'
import { GatewardenError } from '../../../core/errors.js'
import { jsonBody } from '../json-body.js'
import type { HttpPorts } from '../ports.js'

const actorOf = (q: { by?: unknown }) =>
  typeof q.by === 'string' && q.by !== '' ? q.by.slice(0, 256) : 'api'
const iso = (ms: number) => new Date(ms).toISOString()

/**
 * Customer tiers set through the API (they win over the payload's tier, see README "Budgets at
 * runtime"): GET /api/customers/tiers, GET /api/customers/:customer/tier (with its audit),
 * PUT /api/customers/:customer/tier `{ "tier": "pro" }`, DELETE /api/customers/:customer/tier.
 * A change applies to the calls stored after it, on every instance within one detection tick.
 */
export function customerRoutes(app: FastifyInstance, ports: HttpPorts): void {
  const tiers = () => {
    if (!ports.tiers) throw new GatewardenError('GW_NOT_FOUND', 'customer tiers API not enabled', false)
    return ports.tiers
  }
  const view = <T extends { updated_at: number }>(t: T) => ({ ...t, updated_at: iso(t.updated_at) })
  const eventView = <E extends { at: number }>(e: E) => ({ ...e, at: iso(e.at) })
  app.get('/api/customers/tiers', () => ({ tiers: tiers().list().map(view) }))
  app.get<{ Params: { customer: string } }>('/api/customers/:customer/tier', async (req) => {
    const { tier, events } = await tiers().get(req.params.customer)
    if (!tier && events.length === 0)
      throw new GatewardenError(
        'GW_NOT_FOUND',
        `customer ${req.params.customer} has no tier set through the API (its calls keep the payload's tier)`,
        false,
      )
    return { customer: req.params.customer, tier: tier ? view(tier) : null, events: events.map(eventView) }
  })
  app.put<{ Params: { customer: string }; Querystring: { by?: string } }>(
    '/api/customers/:customer/tier',
    async (req) => {
      const r = await tiers().set(req.params.customer, jsonBody(req.body), actorOf(req.query))
      return { tier: view(r.tier), event: eventView(r.event) }
    },
  )
  app.delete<{ Params: { customer: string }; Querystring: { by?: string } }>(
    '/api/customers/:customer/tier',
    async (req) => {
      const e = await tiers().clear(req.params.customer, actorOf(req.query))
      if (!e)
        throw new GatewardenError('GW_NOT_FOUND', `customer ${req.params.customer} has no tier set`, false)
      return { event: eventView(e) }
    },
  )
}
