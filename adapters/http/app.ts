import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
} from 'fastify'
import { isGatewardenError, type ErrorCode } from '../../core/errors.js'
import { httpStatus } from './status.js'
import { bearerMatches } from './auth.js'
import type { HttpPorts } from './ports.js'
import { alertRoutes } from './routes/alerts.js'
import { costRoutes } from './routes/cost.js'
import { pageRoutes } from './routes/pages.js'
import { ingestRoutes } from './routes/ingest.js'
import { opsRoutes } from './routes/ops.js'
import { otlpRoutes } from './routes/otlp.js'
import { ruleRoutes } from './routes/rules.js'
import { budgetRoutes } from './routes/budgets.js'
import { customerRoutes } from './routes/customers.js'
import { consoleRoutes } from './routes/console.js'
import { consoleAssets } from './console-assets.js'
import { openApiRoutes } from './routes/openapi.js'
import { recordRoutes } from './route-list.js'

/** Routes answered without the token when one is set; every other route needs it. */
const OPEN_ROUTES = new Set([
  '/healthz',
  '/metrics',
  '/',
  '/console/*',
  '/console/vendor/uplot.js',
  '/console/vendor/uplot.css',
])

/** Fastify's own client errors, answered with our stable codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'GW_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'GW_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_NOT_FOUND: 'GW_NOT_FOUND',
}

/**
 * The fastify app: ingest, API and ops routes on one port. Errors answer `{ error: { code, message } }`;
 * retryable ones (backpressure, store down, shutting down) with 503 and `Retry-After`.
 * `/ingest/*` and `/api/*` need `Authorization: Bearer <token>` when a token is configured.
 */
export function buildApp(ports: HttpPorts): FastifyInstance {
  const app = Fastify({
    // widens the logger type so routes take a plain FastifyInstance
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: ports.log as FastifyBaseLogger,
    bodyLimit: ports.server.body_limit_bytes,
    // one log line per request is noise at ingest rates; errors are logged by the error handler
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  })

  // Every body is read as bytes; each route decodes its own formats (JSON, NDJSON, gzip, protobuf).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  const token = ports.server.auth_token
  if (token) {
    app.addHook('onRequest', async (req, reply) => {
      // the route fastify matched, not the raw URL: `/%61pi/cost` or `//api/cost` reach the same handler
      // as `/api/cost` and MUST be guarded the same; an unmatched path (404) has no route
      // guarded by default: only the probes and the console's static files (they hold no data; every
      // number on the console comes from /api, behind the token) answer without it
      const route = req.routeOptions.url
      if (route === undefined || OPEN_ROUTES.has(route)) return
      if (!bearerMatches(req.headers.authorization, token)) {
        await reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: { code: 'GW_UNAUTHORIZED', message: 'missing or wrong bearer token' } })
      }
    })
  }

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isGatewardenError(err)) {
      const status = httpStatus(err.code)
      if (err.retryable) reply.header('retry-after', err.code === 'GW_BACKPRESSURE' ? '1' : '5')
      if (status >= 500) req.log.warn({ err, code: err.code }, 'request failed')
      return reply.code(status).send({ error: { code: err.code, message: err.message } })
    }
    const status = err.statusCode ?? 500
    if (status >= 500) req.log.error({ err }, 'unexpected error')
    return reply.code(status).send({
      error: {
        code: FASTIFY_CODES[err.code] ?? err.code ?? 'GW_INTERNAL',
        message: status >= 500 ? 'internal error' : err.message,
      },
    })
  })
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send({ error: { code: 'GW_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }),
  )

  recordRoutes(app)
  ingestRoutes(app, ports)
  alertRoutes(app, ports)
  pageRoutes(app, ports)
  costRoutes(app, ports)
  opsRoutes(app, ports)
  otlpRoutes(app, ports)
  ruleRoutes(app, ports)
  budgetRoutes(app, ports)
  customerRoutes(app, ports)
  consoleRoutes(app, ports.console ?? consoleAssets())
  openApiRoutes(app)
  return app
}
