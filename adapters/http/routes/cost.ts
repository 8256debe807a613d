import type { FastifyInstance } from 'fastify'
import { CostQuery } from '../../../schemas/api.js'
import { GatewardenError } from '../../../core/errors.js'
import type { HttpPorts } from '../ports.js'

/** GET /api/cost: spend grouped by customer/model/endpoint/team/key/agent/day, most expensive first. */
export function costRoutes(app: FastifyInstance, ports: HttpPorts): void {
  app.get('/api/cost', async (req) => {
    const q = CostQuery.safeParse(req.query)
    if (!q.success) {
      const issue = q.error.issues[0]
      throw new GatewardenError(
        'GW_BAD_REQUEST',
        `${issue?.path.join('.') || 'query'}: ${issue?.message}`,
        false,
      )
    }
    const out = await ports.cost(q.data)
    if ('error' in out) throw new GatewardenError('GW_BAD_REQUEST', out.error, false)
    return out
  })
}
