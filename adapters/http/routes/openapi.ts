import type { FastifyInstance } from 'fastify'
import { openApiDocument } from '../openapi/document.js'

/** GET /api/openapi.json: the OpenAPI 3.1 document of this API (adapters/http/openapi/). */
export function openApiRoutes(app: FastifyInstance, version = '0.1.0'): void {
  app.get('/api/openapi.json', (_req, reply) => reply.send(openApiDocument(version)))
}
