import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { REPO_ROOT } from './paths.js'

/**
 * A stand-in for a DB-backed LiteLLM proxy's admin API, built from the RECORDED CONTRACT in
 * test/fixtures/litellm-admin/*.json (request and response shapes taken from LiteLLM 1.108.7's source,
 * each fixture naming the function). A real node:http listener: it checks the master key, validates
 * each request against its fixture (required fields, types, no unknown fields: 422 and a recorded
 * violation otherwise), holds key/team/customer state with LiteLLM's semantics (aliases and metadata
 * replaced wholesale on update, /customer/unblock leaving the stored flag set), and can be told to
 * answer 5xx N times.
 */
export interface AdminContract {
  url: string
  keys: Map<string, KeyRow>
  teams: Map<string, TeamRow>
  customers: Map<string, { blocked: boolean }>
  /** Every request: route, body, status answered. */
  calls: Array<{ method: string; route: string; body: unknown; status: number }>
  /** Requests that broke the contract (also answered 422). A test asserts this stays empty. */
  violations: string[]
  /** The next `n` requests to `route` (e.g. `POST /key/update`) are answered `status`. */
  failNext(route: string, n: number, status?: number): void
  close(): Promise<void>
}

export interface KeyRow {
  key_alias: string | null
  aliases: Record<string, string>
  metadata: Record<string, unknown>
  blocked: boolean | null
  team_id: string | null
}
export interface TeamRow {
  team_alias: string | null
  model_aliases: Record<string, string> | null
  metadata: Record<string, unknown>
  blocked: boolean
}

type FieldType = 'string' | 'object' | 'boolean' | 'array' | 'number' | 'string[]'
interface Fixture {
  route: string
  request?: {
    query?: { required: Record<string, FieldType>; optional: Record<string, FieldType> }
    body?: { required: Record<string, FieldType>; optional: Record<string, FieldType> }
  }
  response: { status: number; example: unknown }
  errors?: Array<{ status: number; example: unknown }>
}

const DIR = join(REPO_ROOT, 'test', 'fixtures', 'litellm-admin')

/** The recorded contract, by route (`POST /key/update`). */
export function loadAdminContract(): Map<string, Fixture> {
  const out = new Map<string, Fixture>()
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.json'))) {
    const fx = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Fixture
    out.set(fx.route, fx)
  }
  return out
}

const isType = (v: unknown, t: FieldType): boolean => {
  switch (t) {
    case 'string':
      return typeof v === 'string'
    case 'number':
      return typeof v === 'number'
    case 'boolean':
      return typeof v === 'boolean'
    case 'array':
      return Array.isArray(v)
    case 'string[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'string')
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v)
  }
}

function validate(
  where: string,
  got: Record<string, unknown>,
  spec: { required: Record<string, FieldType>; optional: Record<string, FieldType> },
): string[] {
  const errs: string[] = []
  for (const [k, t] of Object.entries(spec.required)) {
    if (!(k in got)) errs.push(`${where}: missing required ${k}`)
    else if (!isType(got[k], t)) errs.push(`${where}: ${k} must be ${t}`)
  }
  for (const [k, v] of Object.entries(got)) {
    const t = spec.required[k] ?? spec.optional[k]
    if (!t) errs.push(`${where}: unknown field ${k}`)
    else if (!(k in spec.required) && v !== null && !isType(v, t)) errs.push(`${where}: ${k} must be ${t}`)
  }
  return errs
}

const hashKey = (k: string) => (k.startsWith('sk-') ? createHash('sha256').update(k).digest('hex') : k)

export async function startAdminContract(masterKey: string): Promise<AdminContract> {
  const contract = loadAdminContract()
  const failing = new Map<string, { n: number; status: number }>()
  const c: AdminContract = {
    url: '',
    keys: new Map(),
    teams: new Map(),
    customers: new Map(),
    calls: [],
    violations: [],
    failNext: (route, n, status = 503) => void failing.set(route, { n, status }),
    close: () => Promise.resolve(),
  }
  const example = (route: string, status: number): unknown => {
    const fx = contract.get(route)!
    return status === fx.response.status
      ? fx.response.example
      : fx.errors?.find((e) => e.status === status)?.example
  }

  const handle = (
    method: string,
    route: string,
    query: Record<string, string>,
    body: Record<string, unknown>,
  ) => {
    const keyRow = (k: string) => c.keys.get(hashKey(k))
    const keyAnswer = (hash: string, row: KeyRow) => ({ token: hash, ...row })
    switch (`${method} ${route}`) {
      case 'GET /key/info': {
        const hash = hashKey(query.key!)
        const row = c.keys.get(hash)
        if (!row) return { status: 404, body: example('GET /key/info', 404) }
        return {
          status: 200,
          body: { key: query.key, info: { ...row, status: row.blocked ? 'revoked' : 'active' } },
        }
      }
      case 'POST /key/update': {
        const hash = hashKey(body.key as string)
        const row = c.keys.get(hash)
        if (!row) return { status: 404, body: example('POST /key/update', 404) }
        if (body.aliases !== undefined) row.aliases = { ...(body.aliases as Record<string, string>) }
        if (body.metadata !== undefined)
          row.metadata = structuredClone(body.metadata as Record<string, unknown>)
        if (typeof body.blocked === 'boolean') row.blocked = body.blocked
        return { status: 200, body: { key: body.key, ...keyAnswer(hash, row) } }
      }
      case 'POST /key/block':
      case 'POST /key/unblock': {
        const row = keyRow(body.key as string)
        if (!row) return { status: 404, body: example(`${method} ${route}`, 404) }
        row.blocked = route === '/key/block'
        return { status: 200, body: keyAnswer(hashKey(body.key as string), row) }
      }
      case 'GET /team/info': {
        const row = c.teams.get(query.team_id!)
        if (!row) return { status: 404, body: example('GET /team/info', 404) }
        const { model_aliases, ...rest } = row
        return {
          status: 200,
          body: {
            team_id: query.team_id,
            team_info: {
              team_id: query.team_id,
              ...rest,
              litellm_model_table: model_aliases === null ? null : { id: 7, model_aliases },
            },
            keys: [],
            team_memberships: [],
          },
        }
      }
      case 'POST /team/update': {
        const row = c.teams.get(body.team_id as string)
        if (!row) return { status: 400, body: example('POST /team/update', 400) }
        if (body.model_aliases !== undefined)
          row.model_aliases = { ...(body.model_aliases as Record<string, string>) }
        if (body.metadata !== undefined)
          row.metadata = structuredClone(body.metadata as Record<string, unknown>)
        if (typeof body.blocked === 'boolean') row.blocked = body.blocked
        return { status: 200, body: { team_id: body.team_id, data: { team_id: body.team_id, ...row } } }
      }
      case 'POST /team/block':
      case 'POST /team/unblock': {
        const row = c.teams.get(body.team_id as string)
        if (!row) return { status: 404, body: example(`${method} ${route}`, 404) }
        row.blocked = route === '/team/block'
        return { status: 200, body: { team_id: body.team_id, ...row } }
      }
      case 'POST /customer/block': {
        const users = body.user_ids as string[]
        for (const u of users) c.customers.set(u, { blocked: true })
        return { status: 200, body: { blocked_users: users.map((u) => ({ user_id: u, blocked: true })) } }
      }
      case 'POST /customer/unblock':
        // LiteLLM's answer without the enterprise blocked-user hook; the stored flag stays set either way
        return { status: 400, body: example('POST /customer/unblock', 400) }
      case 'POST /customer/update': {
        const row = c.customers.get(body.user_id as string)
        if (!row) return { status: 404, body: example('POST /customer/update', 404) }
        if (typeof body.blocked === 'boolean') row.blocked = body.blocked
        return { status: 200, body: { user_id: body.user_id, ...row } }
      }
      case 'GET /customer/info': {
        const row = c.customers.get(query.end_user_id!)
        if (!row) return { status: 404, body: example('GET /customer/info', 404) }
        return { status: 200, body: { user_id: query.end_user_id, ...row } }
      }
    }
    return { status: 404, body: { detail: 'Not Found' } }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (b: Buffer) => chunks.push(b))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      const method = req.method ?? ''
      const route = url.pathname
      const name = `${method} ${route}`
      const raw = Buffer.concat(chunks).toString('utf8')
      let body: Record<string, unknown> = {}
      let answer: { status: number; body: unknown }
      const fx = contract.get(name)
      const fail = failing.get(name)
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
      } catch {
        c.violations.push(`${name}: body is not JSON`)
      }
      if (req.headers.authorization !== `Bearer ${masterKey}`) {
        answer = { status: 401, body: example('any admin route', 401) }
      } else if (!fx) {
        c.violations.push(`${name}: not in the recorded contract`)
        answer = { status: 404, body: { detail: 'Not Found' } }
      } else if (fail && fail.n > 0) {
        fail.n--
        answer = {
          status: fail.status,
          body: { error: { message: 'Internal Server Error', code: String(fail.status) } },
        }
      } else {
        const errs = [
          ...(fx.request?.query
            ? validate(`${name} query`, Object.fromEntries(url.searchParams), fx.request.query)
            : []),
          ...(fx.request?.body ? validate(`${name} body`, body, fx.request.body) : []),
          ...(method === 'POST' && req.headers['content-type'] !== 'application/json'
            ? [`${name}: not application/json`]
            : []),
        ]
        if (errs.length) {
          c.violations.push(...errs)
          answer = { status: 422, body: { detail: errs } }
        } else {
          answer = handle(method, route, Object.fromEntries(url.searchParams), body)
        }
      }
      c.calls.push({ method, route, body, status: answer.status })
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(answer.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  c.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  c.close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  return c
}
