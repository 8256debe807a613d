// Every number the console shows comes from Gatewarden's API through these calls (the same API as the CLI).
const KEY = 'gatewarden.token'

/** The API answered 401: the page shows the login form. */
export class Unauthorized extends Error {}

/** Any other error answer, with Gatewarden's stable code (`GW_…`). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`)
    this.status = status
    this.code = code || ''
  }
}

/** The bearer token kept for this browser tab (sessionStorage: gone when the tab closes). */
export const token = () => sessionStorage.getItem(KEY) || ''
export const setToken = (t) => (t ? sessionStorage.setItem(KEY, t) : sessionStorage.removeItem(KEY))

function headers(extra = {}) {
  const h = { ...extra }
  const t = token()
  if (t) h.authorization = `Bearer ${t}`
  return h
}

/** A JSON call: `api('api/cost', { query: { group_by: 'model' } })`. Relative paths, so a path prefix works. */
export async function api(path, { method = 'GET', query, body } = {}) {
  const qs = query
    ? '?' +
      new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== '')).toString()
    : ''
  const res = await fetch(path + qs, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (res.status === 401) throw new Unauthorized('missing or wrong token')
  const text = await res.text()
  let json = null
  try {
    json = text ? JSON.parse(text) : null
  } catch {
    /* not JSON */
  }
  if (!res.ok) throw new ApiError(res.status, json?.error?.code, json?.error?.message ?? text.slice(0, 200))
  return json
}

/** GET api/cost with the given parameters; the answer's rows. */
export const cost = async (query) => (await api('api/cost', { query })).rows

/** The Prometheus text of /metrics (open, like /healthz). */
export async function metricsText() {
  const res = await fetch('metrics', { headers: headers() })
  if (!res.ok) throw new ApiError(res.status, '', `metrics: HTTP ${res.status}`)
  return res.text()
}

/** GET /healthz (503 still carries the body). */
export async function health() {
  const res = await fetch('healthz', { headers: headers() })
  return res.json()
}
