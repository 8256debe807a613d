import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Message } from 'kafkajs'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { litellmPayload } from './events.js'
import { fixture, REPO_ROOT } from './paths.js'
import { rows } from './store.js'

type Payload = Record<string, unknown>

/** Spend per customer in units of 1e-10 USD (the store's scale), so sums compare exactly. */
export type Spend = Map<string, { units: bigint; count: number }>

/** Start of the hour the generated events begin in (whole hours let spend_by_hour answer exactly). */
export const SPEND_BASE_MS = Date.UTC(2025, 1, 11, 10)

/** Real payloads captured from a LiteLLM proxy (test/fixtures/litellm/captured), when present. */
function capturedPayloads(): Payload[] {
  const dir = join(REPO_ROOT, 'test', 'fixtures', 'litellm', 'captured')
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => {
      const body = fixture<Payload | Payload[]>(`litellm/captured/${f}`)
      return Array.isArray(body) ? body : [body]
    })
}

/** The LiteLLM payloads a Kafka test produces, and the spend per customer the store must sum to (test side only). */
export class ExpectedKafkaSpend {
  readonly expected: Spend = new Map()
  readonly #captured = capturedPayloads()

  constructor(readonly run: string) {}

  /**
   * The i-th LiteLLM payload of this run: distinct id, one of 7 customers, a cost of k * 1e-7 USD, a
   * time spread over a few hours; every 13th is the failure fixture, and the captured real payloads
   * (with their own costs) are mixed in.
   */
  payload(i: number): Payload {
    const id = `${this.run}-${i}`
    const customer = `cust-${i % 7}`
    const ts = SPEND_BASE_MS + i * 3_700
    let p: Payload
    let units: bigint
    const captured =
      this.#captured.length > 0 && i % 17 === 5
        ? this.#captured[Math.floor(i / 17) % this.#captured.length]
        : undefined
    if (captured) {
      p = structuredClone(captured)
      const start = ts / 1000
      Object.assign(p, {
        id,
        litellm_call_id: `call-${id}`,
        end_user: customer,
        startTime: start,
        endTime: start + 0.5,
        completionStartTime: start + 0.1,
      })
      p.metadata = { ...(p.metadata as Payload), user_api_key_end_user_id: customer }
      units = BigInt(Math.round(Number(p.response_cost ?? 0) * 1e10))
    } else if (i % 13 === 7) {
      p = fixture<Payload>('litellm/standard-logging-payload-failure.json')
      const start = ts / 1000
      Object.assign(p, {
        id,
        litellm_call_id: `call-${id}`,
        end_user: customer,
        startTime: start,
        endTime: start + 0.2,
        response_cost: 0,
      })
      p.metadata = { ...(p.metadata as Payload), user_api_key_end_user_id: customer }
      units = 0n
    } else {
      const k = ((i * 7919) % 99_991) + 1
      p = litellmPayload({ id, customer, cost: k / 1e7, ts })
      units = BigInt(k) * 1000n
    }
    this.#add(customer, units)
    return p
  }

  /** A canonical RequestEvent JSON (the `canonical` wire format) counted like a payload. */
  canonical(i: number): Payload {
    const customer = `cust-${i % 7}`
    const k = ((i * 104_729) % 99_991) + 1
    this.#add(customer, BigInt(k) * 1000n)
    return {
      event_id: `${this.run}-canon-${i}`,
      ts: SPEND_BASE_MS + i * 3_700,
      source: 'kafka',
      customer,
      model: 'gpt-4o',
      cost_usd: k / 1e7,
    }
  }

  /**
   * An OTLP `ExportTraceServiceRequest` (JSON) with `n` GenAI LLM spans `i..i+n-1`, each with its cost as
   * `gen_ai.usage.cost` and its customer as `user.id`, plus one HTTP span that is not an LLM call.
   */
  otlp(i: number, n: number): Payload {
    const hex = (x: number, len: number) => x.toString(16).padStart(len, '0')
    const runHex = hex(
      Number(BigInt.asUintN(48, BigInt(Buffer.from(this.run).reduce((h, c) => (h * 31 + c) % 2 ** 48, 7)))),
      12,
    )
    const traceId = `${runHex}${hex(i, 20)}`
    const attr = (key: string, v: string | number) => ({
      key,
      value:
        typeof v === 'string'
          ? { stringValue: v }
          : Number.isInteger(v)
            ? { intValue: String(v) }
            : { doubleValue: v },
    })
    const spans = Array.from({ length: n }, (_, j) => {
      const customer = `cust-${(i + j) % 7}`
      const k = (((i + j) * 31_337) % 99_991) + 1
      this.#add(customer, BigInt(k) * 1000n)
      const start = BigInt(SPEND_BASE_MS + (i + j) * 3_700) * 1_000_000n
      return {
        traceId,
        spanId: hex(j + 1, 16),
        name: 'chat gpt-4o',
        kind: 3,
        startTimeUnixNano: String(start),
        endTimeUnixNano: String(start + 800_000_000n),
        attributes: [
          attr('gen_ai.operation.name', 'chat'),
          attr('gen_ai.provider.name', 'openai'),
          attr('gen_ai.request.model', 'gpt-4o'),
          attr('gen_ai.usage.input_tokens', 100 + j),
          attr('gen_ai.usage.output_tokens', 20),
          attr('gen_ai.usage.cost', k / 1e7),
          attr('user.id', customer),
        ],
        status: {},
      }
    })
    const health = {
      traceId,
      spanId: hex(999, 16),
      name: 'GET /health',
      kind: 2,
      startTimeUnixNano: String(BigInt(SPEND_BASE_MS) * 1_000_000n),
      endTimeUnixNano: String(BigInt(SPEND_BASE_MS) * 1_000_000n + 1000n),
      attributes: [attr('http.route', '/health')],
    }
    return {
      resourceSpans: [
        {
          resource: { attributes: [attr('service.name', 'agent-svc')] },
          scopeSpans: [{ scope: { name: 'test' }, spans: [...spans, health] }],
        },
      ],
    }
  }

  get total(): number {
    let n = 0
    for (const v of this.expected.values()) n += v.count
    return n
  }

  #add(customer: string, units: bigint): void {
    const cur = this.expected.get(customer) ?? { units: 0n, count: 0 }
    this.expected.set(customer, { units: cur.units + units, count: cur.count + 1 })
  }
}

/**
 * Messages for payloads `from..to-1`, framed in turn as one JSON object, a JSON array of 5 and NDJSON of 5
 * (keyed by index, so they spread over the partitions).
 */
export function spendMessages(ledger: ExpectedKafkaSpend, from: number, to: number): Message[] {
  const out: Message[] = []
  let i = from
  while (i < to) {
    const shape = Math.floor(i / 5) % 3
    const n = shape === 0 ? 1 : Math.min(5, to - i)
    const items = Array.from({ length: n }, (_, j) => ledger.payload(i + j))
    const value =
      shape === 0
        ? JSON.stringify(items[0])
        : shape === 1
          ? JSON.stringify(items)
          : items.map((p) => JSON.stringify(p)).join('\n')
    out.push({ key: `m-${i}`, value })
    i += n
  }
  return out
}

/** "12.3400000000" -> 123400000000n (units of 1e-10). */
export function decimalUnits(text: string): bigint {
  const [whole = '0', frac = ''] = text.split('.')
  assert.ok(frac.length <= 10, `more than 10 decimals: ${text}`)
  return BigInt(whole) * 10_000_000_000n + BigInt(frac.padEnd(10, '0'))
}

/** Spend per customer as the store holds it: raw `requests`, or the `spend_by_hour` rollup. */
export async function storeSpend(store: StoreClient, table: 'requests' | 'spend_by_hour'): Promise<Spend> {
  const count = table === 'requests' ? 'count()' : 'sum(requests)'
  const got = await rows<{ customer: string; cost: string; n: string }>(
    store,
    `SELECT customer, toString(sum(cost_usd)) AS cost, toString(${count}) AS n FROM {{db}}.${table} GROUP BY customer ORDER BY customer`,
  )
  return new Map(got.map((r) => [r.customer, { units: decimalUnits(r.cost), count: Number(r.n) }]))
}

/** Rows in `requests` and distinct event ids there. */
export async function storeCounts(store: StoreClient): Promise<{ rows: number; ids: number }> {
  const [r] = await rows<{ n: string; ids: string }>(
    store,
    'SELECT toString(count()) AS n, toString(uniqExact(event_id)) AS ids FROM {{db}}.requests',
  )
  return { rows: Number(r?.n ?? 0), ids: Number(r?.ids ?? 0) }
}

/** Asserts the store's raw rows and hourly rollup both equal the ledger exactly, each event once. */
export async function assertExactSpend(store: StoreClient, ledger: ExpectedKafkaSpend): Promise<void> {
  const show = (s: Spend) => JSON.stringify([...s].map(([c, v]) => [c, v.units.toString(), v.count]))
  const raw = await storeSpend(store, 'requests')
  assert.equal(show(raw), show(sorted(ledger.expected)), 'requests: per-customer cost and count')
  const hourly = await storeSpend(store, 'spend_by_hour')
  assert.equal(show(hourly), show(sorted(ledger.expected)), 'spend_by_hour: per-customer cost and count')
  const counts = await storeCounts(store)
  assert.equal(counts.rows, ledger.total, 'requests rows')
  assert.equal(counts.ids, ledger.total, 'distinct event ids')
}

const sorted = (s: Spend): Spend => new Map([...s].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
