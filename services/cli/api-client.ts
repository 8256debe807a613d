import type { FastifyInstance } from 'fastify'
import { GatewardenError } from '../../core/errors.js'

/** One answer of the API: status, content type and body text. */
interface Answer {
  status: number
  type: string
  body: string
}

/** The HTTP API as the CLI calls it: over the network (`--url`) or in-process on the store (`--store`). */
export interface ApiClient {
  /** Where the answers come from, for messages (`http://127.0.0.1:4318`, `store ./data`). */
  where: string
  /** GET (or another method) `path` with `query`; the JSON answer, or a one-line GatewardenError. */
  json<T>(method: string, path: string, query?: Record<string, string | undefined>): Promise<T>
  /** The body text of a GET (CSV). */
  text(path: string, query?: Record<string, string | undefined>): Promise<string>
  close(): Promise<void>
}

const qs = (query: Record<string, string | undefined> = {}) => {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined) p.set(k, v)
  const s = p.toString()
  return s ? `?${s}` : ''
}

/** The error of a non-2xx answer, in one line that names the fix. */
function failure(where: string, a: Answer, tokenSet: boolean): GatewardenError {
  let err: { code?: string; message?: string } | undefined
  try {
    err = (JSON.parse(a.body) as { error?: { code?: string; message?: string } }).error
  } catch {
    /* not JSON */
  }
  if (a.status === 401)
    return new GatewardenError(
      'GW_UNAUTHORIZED',
      tokenSet
        ? `${where} refused the token: set GATEWARDEN_AUTH_TOKEN to the server's server.auth_token`
        : `${where} needs a token: export GATEWARDEN_AUTH_TOKEN=<the server's server.auth_token>`,
      false,
    )
  if (!err?.message)
    return new GatewardenError(
      'GW_BAD_REQUEST',
      `${where} did not answer like Gatewarden (HTTP ${a.status}, ${a.type || 'no content type'}): check --url`,
      false,
    )
  return new GatewardenError(
    a.status >= 500 ? 'GW_STORE_UNAVAILABLE' : 'GW_BAD_REQUEST',
    `${err.message} (${err.code ?? a.status})`,
    a.status >= 500,
  )
}

function client(
  where: string,
  send: (method: string, url: string) => Promise<Answer>,
  tokenSet: boolean,
  close: () => Promise<void>,
): ApiClient {
  const call = async (method: string, path: string, query?: Record<string, string | undefined>) => {
    const a = await send(method, `${path}${qs(query)}`)
    if (a.status >= 400) throw failure(where, a, tokenSet)
    return a
  }
  return {
    where,
    async json<T>(method: string, path: string, query?: Record<string, string | undefined>) {
      const a = await call(method, path, query)
      try {
        return JSON.parse(a.body) as T
      } catch {
        throw failure(where, { ...a, body: '' }, tokenSet)
      }
    },
    async text(path, query) {
      return (await call('GET', path, query)).body
    },
    close,
  }
}

/** A client of the Gatewarden at `baseUrl` (token, when set, as a bearer). */
export function httpClient(baseUrl: string, token: string | undefined): ApiClient {
  const base = baseUrl.replace(/\/+$/, '')
  return client(
    base,
    async (method, url) => {
      let res: Response
      try {
        res = await fetch(`${base}${url}`, {
          method,
          headers: token ? { authorization: `Bearer ${token}` } : {},
          redirect: 'manual',
          signal: AbortSignal.timeout(30_000),
        })
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause
        const why = cause?.code ?? cause?.message ?? (err as Error).message
        throw new GatewardenError(
          'GW_UNREACHABLE',
          `cannot reach Gatewarden at ${base} (${why}): start it (\`gatewarden start\`), pass --url, or read the store directly with --store`,
          true,
          { cause: err },
        )
      }
      return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() }
    },
    Boolean(token),
    () => Promise.resolve(),
  )
}

/** A client of an in-process app (the `--store` mode): the same routes, validation and answers. */
export function injectClient(where: string, app: FastifyInstance, close: () => Promise<void>): ApiClient {
  return client(
    where,
    async (method, url) => {
      const res = await app.inject({ method: method as 'GET', url })
      return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), body: res.body }
    },
    false,
    close,
  )
}
