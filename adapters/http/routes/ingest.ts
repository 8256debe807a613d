import type { FastifyInstance } from 'fastify'
import { decodeBody, splitIngestBody } from '../body.js'
import type { HttpPorts } from '../ports.js'

/** POST /ingest/litellm: LiteLLM generic_api bodies (json_array, ndjson, single). Answers once stored. */
export function ingestRoutes(app: FastifyInstance, ports: HttpPorts): void {
  app.post('/ingest/litellm', async (req) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
    const body = decodeBody(raw, req.headers['content-encoding'], ports.server.body_limit_bytes)
    const items = splitIngestBody(body, req.headers['content-type'])
    return ports.ingestLiteLLM(items, `POST /ingest/litellm ${req.id}`)
  })
}
