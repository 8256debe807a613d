import { callSet, litellmPayloadOf } from './call-set.js'
import { litellmPayload } from './events.js'

const DAY = 86_400_000

/** Headers of a call to a running Gatewarden (with its token when it has one). */
export const authHeaders = (token?: string): Record<string, string> => ({
  'content-type': 'application/json',
  ...(token ? { authorization: `Bearer ${token}` } : {}),
})

/** GET a JSON answer from a running Gatewarden; throws on a non-2xx status. */
export async function getJson<T>(url: string, token?: string): Promise<T> {
  const res = await fetch(url, { headers: authHeaders(token) })
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

/** POST a JSON body; the answer's status and JSON. */
export async function postJson<T>(
  url: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; json: T }> {
  const res = await fetch(url, { method: 'POST', headers: authHeaders(token), body: JSON.stringify(body) })
  return { status: res.status, json: (await res.json()) as T }
}

/**
 * Seeds a running Gatewarden through its own ingest API: `n` deterministic calls (call-set.ts, customers
 * acme, globex, "o'reilly", "tenant/eu-west", unattributed, ...) spread over the twelve days before `now`, one
 * invalid item (a dead letter), and a loop (the same request six times from one key within seconds) that
 * fires a loop alert.
 */
export interface Seeded {
  /** Events stored (the calls and the loop). */
  accepted: number
  /** What the seeded calls of one customer cost, exactly as sent. */
  costOf(customer: string): number
}

export async function seedConsole(url: string, now: number, token?: string, n = 1200): Promise<Seeded> {
  const calls = callSet(n).map((c, i) => ({ ...c, ts: now - 12 * DAY + Math.floor((i * 12 * DAY) / n) }))
  const payloads: unknown[] = calls.map(litellmPayloadOf)
  const { status, json } = await postJson<{ accepted: number; rejected: number }>(
    `${url}/ingest/litellm`,
    [...payloads, { id: 'no-time-nor-cost' }],
    token,
  )
  if (status !== 200 || json.accepted !== n || json.rejected !== 1)
    throw new Error(`seed: ${status} ${JSON.stringify(json)}`)
  const loop = Array.from({ length: 6 }, (_, i) =>
    litellmPayload({
      id: `loop-${now}-${i}`,
      customer: 'acme',
      key: 'key-loop',
      ts: now - 10_000 + i * 1000,
    }),
  )
  const r = await postJson<{ accepted: number }>(`${url}/ingest/litellm`, loop, token)
  if (r.status !== 200 || r.json.accepted !== loop.length)
    throw new Error(`loop seed: ${JSON.stringify(r.json)}`)
  const loopCost = loop.reduce((a, p) => a + Number(p.response_cost), 0)
  return {
    accepted: n + loop.length,
    costOf: (customer) =>
      calls.filter((c) => c.customer === customer).reduce((a, c) => a + c.cost, 0) +
      (customer === 'acme' ? loopCost : 0),
  }
}
