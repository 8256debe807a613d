import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { GatewardenError } from '../../../core/errors.js'
import type { HttpPorts } from '../ports.js'

/** Query of GET /api/dead-letters. */
export const DeadLetterQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  source: z.string().max(64).optional(),
})

/** GET /healthz, GET /metrics (Prometheus text), GET /api/dead-letters. */
export function opsRoutes(app: FastifyInstance, ports: HttpPorts): void {
  app.get('/healthz', async (_req, reply) => {
    const h = await ports.health()
    return reply.code(h.ok ? 200 : 503).send(h)
  })
  app.get('/metrics', (req, reply) => {
    reply.hijack()
    ports.metrics(req.raw, reply.raw)
  })
  app.get('/api/dead-letters', async (req) => {
    const q = DeadLetterQuery.safeParse(req.query)
    if (!q.success)
      throw new GatewardenError('GW_BAD_REQUEST', q.error.issues[0]?.message ?? 'bad query', false)
    return { dead_letters: await ports.deadLetters(q.data.limit, q.data.source) }
  })
}
