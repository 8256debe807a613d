import type { FastifyInstance } from 'fastify'
import type { HttpPorts } from '../ports.js'

/** POST /ingest/litellm: LiteLLM generic_api bodies (json_array, ndjson, single). Answers once stored. */
export function ingestRoutes(app: FastifyInstance, ports: HttpPorts): void {
  app.post('/ingest/litellm', async (req) => {
    // decoded, split and mapped by the service (on a parse worker when there are any), then stored
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
    return ports.ingestLiteLLM(
      { bytes, contentType: req.headers['content-type'], contentEncoding: req.headers['content-encoding'] },
      `POST /ingest/litellm ${req.id}`,
    )
  })
}
