import type { FastifyInstance } from 'fastify'

/** A route as fastify registered it: method and URL pattern (`/api/rules/:id`). */
export interface RegisteredRoute {
  method: string
  url: string
}

const byApp = new WeakMap<FastifyInstance, RegisteredRoute[]>()

/** Records every route registered on `app` from now on (call before registering routes). */
export function recordRoutes(app: FastifyInstance): void {
  const list: RegisteredRoute[] = []
  byApp.set(app, list)
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) list.push({ method, url: r.url })
  })
}

/** The routes recorded on `app` (the OpenAPI test checks each one is documented). */
export const registeredRoutes = (app: FastifyInstance): readonly RegisteredRoute[] => byApp.get(app) ?? []
