import type { FastifyInstance } from 'fastify'
import { CostQuery } from '../../../schemas/api.js'
import { GatewardenError } from '../../../core/errors.js'
import { costColumns } from '../../../core/cost-rows.js'
import { toCsv } from '../../../core/cost-csv.js'
import type { HttpPorts } from '../ports.js'

/**
 * GET /api/cost: spend grouped by any dimensions, most expensive first, with a total; named periods,
 * `top`, `compare=previous` and `format=csv` (the rows only, one header line).
 */
export function costRoutes(app: FastifyInstance, ports: HttpPorts): void {
  app.get('/api/cost', async (req, reply) => {
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
    if (q.data.format === 'csv') {
      const name = `cost-${out.from.slice(0, 10)}-${out.to.slice(0, 10)}.csv`
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(toCsv(costColumns(q.data.group_by, q.data.compare === 'previous'), out.rows))
    }
    return out
  })
}
