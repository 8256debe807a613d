import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Asset, ConsoleAssets } from '../console-assets.js'

/** The console loads nothing from elsewhere (it works offline) and runs no inline script. */
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"

function send(reply: FastifyReply, asset: Asset | undefined): FastifyReply {
  if (!asset) return reply.code(404).type('text/plain').send('not found')
  return reply
    .type(asset.type)
    .header('cache-control', 'no-cache')
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .send(asset.body)
}

/**
 * GET / (the web console) and GET /console/* (its modules, styles and the vendored uPlot). The files hold
 * no data, so they are served without the token: the page asks for it (login form) and sends it as
 * `Authorization: Bearer` on every /api call, which is where the token is checked.
 */
export function consoleRoutes(app: FastifyInstance, assets: ConsoleAssets): void {
  app.get('/', async (_req, reply) => send(reply, await assets.file('index.html')))
  app.get('/console/vendor/uplot.js', async (_req, reply) => send(reply, await assets.vendor('uplot.js')))
  app.get('/console/vendor/uplot.css', async (_req, reply) => send(reply, await assets.vendor('uplot.css')))
  app.get<{ Params: { '*': string } }>('/console/*', async (req, reply) =>
    send(reply, await assets.file(req.params['*'])),
  )
}
