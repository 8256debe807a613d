import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import {
  CALLS_BASE_MS,
  callSet,
  genAiSpanOf,
  litellmPayloadOf,
  totalsBy,
  type Call,
  type Totals,
} from '../support/call-set.js'
import { exportGenAiSpans } from '../support/genai-export.js'
import {
  createTopic,
  produceAll,
  startBroker,
  testKafka,
  testProducer,
  waitFor,
  type TestBroker,
} from '../support/kafka-broker.js'
import { kafkaTestConfig, testLog } from '../support/kafka-gatewarden.js'
import { testDataDir } from '../support/store.js'

// The "Done when": the same 10,000 calls sent once through each source, each into its own
// Gatewarden (own database), give identical per-customer cost and counts. Gatewardens run in this
// process (start()), on real sockets; Kafka is the real broker; OTLP is the OpenTelemetry JS SDK.

const N = 10_000
const HTTP_BATCH = 512
const run = `${process.pid}-${Date.now()}`
const HOUR = 3_600_000
// whole hours around the calls: the cost API answers from the spend_by_hour rollup
const FROM = new Date(CALLS_BASE_MS - HOUR).toISOString()
const TO = new Date(CALLS_BASE_MS + 6 * HOUR).toISOString()
// not whole minutes: the cost API answers from raw `requests`
const RAW_FROM = new Date(CALLS_BASE_MS - HOUR + 1).toISOString()

let broker: TestBroker | undefined
const running: Running[] = []

before(() => {
  broker = startBroker('three-paths')
})
after(async () => {
  for (const r of running) await r.stop()
  broker?.destroy()
})

async function gatewarden(database: string, kafka?: { brokers: string[]; topic: string }): Promise<Running> {
  const cfg = kafka
    ? kafkaTestConfig({ database, brokers: kafka.brokers, topics: [kafka.topic], groupId: `gw-${database}` })
    : Config.parse({
        server: { port: 0 },
        store: {
          data_dir: testDataDir(),
          database,
          clickhouse_url: process.env.CLICKHOUSE_URL || undefined,
        },
        writer: { max_batch_wait_ms: 50 },
        log: { level: 'silent' },
      })
  const gw = await start(cfg, testLog())
  running.push(gw)
  return gw
}

const urlOf = (gw: Running) => `http://127.0.0.1:${gw.address.port}`

type CostRow = Totals & Record<string, string | number>

/** GET /api/cost over the socket: rows keyed by their dimensions (JSON array), and the table that answered. */
async function costBy(
  gw: Running,
  groupBy: string,
  from = FROM,
): Promise<{ source: string; rows: Map<string, Totals> }> {
  const dims = groupBy.split(',')
  const res = await fetch(`${urlOf(gw)}/api/cost?group_by=${groupBy}&from=${from}&to=${TO}&limit=100000`)
  assert.equal(res.status, 200, await res.clone().text())
  const body = (await res.json()) as { rows: CostRow[]; source: string }
  const rows = new Map<string, Totals>()
  for (const r of body.rows) {
    const key = JSON.stringify(dims.map((d) => r[d]))
    assert.ok(!rows.has(key), `${groupBy}: key ${key} twice`)
    rows.set(key, {
      cost_usd: r.cost_usd,
      requests: r.requests,
      failures: r.failures,
      input_tokens: r.input_tokens,
      output_tokens: r.output_tokens,
      cached_tokens: r.cached_tokens,
    })
  }
  return { source: body.source, rows }
}

const counted = async (gw: Running) =>
  [...(await costBy(gw, 'customer')).rows.values()].reduce((a, r) => a + r.requests, 0)

const sortedEntries = (m: Map<string, Totals>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** The ledger for one grouping, keyed like costBy. */
function expectedBy(calls: readonly Call[], groupBy: string): Map<string, Totals> {
  const dims = groupBy.split(',') as Array<'customer' | 'model' | 'endpoint' | 'agent'>
  return totalsBy(calls, (c) => JSON.stringify(dims.map((d) => c[d])))
}

/** Counts exactly; cost within 1e-6 USD (the store keeps 10 decimals, the ledger sums full doubles). */
function assertMatchesLedger(got: Map<string, Totals>, want: Map<string, Totals>, what: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${what}: groups`)
  for (const [key, w] of want) {
    const g = got.get(key)!
    const { cost_usd: gotCost, ...gotCounts } = g
    const { cost_usd: wantCost, ...wantCounts } = w
    assert.deepEqual(gotCounts, wantCounts, `${what} ${key}: counts`)
    assert.ok(Math.abs(gotCost - wantCost) < 1e-6, `${what} ${key}: cost ${gotCost} vs ledger ${wantCost}`)
  }
}

test(
  'the same 10,000 calls through Kafka, OTLP/HTTP and /ingest/litellm: identical per-customer cost and counts',
  { timeout: 300_000 },
  async (t) => {
    assert.ok(broker)
    const calls = callSet(N)
    const payloads = calls.map(litellmPayloadOf)
    const customers = new Set(calls.map((c) => c.customer))
    assert.equal(customers.size, 50, 'every customer has calls')
    assert.ok(customers.has(''), 'some calls are unattributed')
    assert.ok(calls.some((c) => c.failed && c.input > 0) && calls.some((c) => !c.failed && c.cost === 0))

    const kafka = testKafka(broker.brokers)
    const topic = `three-paths-${run}`
    await createTopic(kafka, topic, 3)
    const db = (path: string) => `three_${path}_${process.pid}`
    const [viaKafka, viaOtlp, viaHttp] = await Promise.all([
      gatewarden(db('kafka'), { brokers: broker.brokers, topic }),
      gatewarden(db('otlp')),
      gatewarden(db('http')),
    ])
    const t0 = performance.now()
    const secs = () => ((performance.now() - t0) / 1000).toFixed(1)

    // the three sources at once, each into its own Gatewarden
    await Promise.all([
      (async () => {
        const producer = await testProducer(kafka)
        try {
          // one LiteLLM StandardLoggingPayload JSON per message, keyed by call id
          const messages = payloads.map((p) => ({ key: String(p.litellm_call_id), value: JSON.stringify(p) }))
          await produceAll(producer, topic, messages, 100)
        } finally {
          await producer.disconnect()
        }
        t.diagnostic(`kafka: ${N} messages produced at ${secs()} s`)
      })(),
      (async () => {
        const report = await exportGenAiSpans(`${urlOf(viaOtlp)}/v1/traces`, calls.map(genAiSpanOf))
        assert.deepEqual(report.failed, [], 'every OTLP export succeeded')
        assert.equal(report.exportedSpans, N)
        t.diagnostic(`otlp: ${report.exports} exports of ${N} spans acked at ${secs()} s`)
      })(),
      (async () => {
        let next = 0
        const post = async () => {
          for (let i = next; i < N; i = next) {
            next += HTTP_BATCH
            const batch = payloads.slice(i, i + HTTP_BATCH)
            const res = await fetch(`${urlOf(viaHttp)}/ingest/litellm`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(batch),
            })
            assert.equal(res.status, 200, await res.clone().text())
            assert.deepEqual(await res.json(), { accepted: batch.length, rejected: 0, duplicates: 0 })
          }
        }
        await Promise.all([post(), post()])
        t.diagnostic(`http: ${Math.ceil(N / HTTP_BATCH)} POSTs acked at ${secs()} s`)
      })(),
    ])
    await waitFor(
      `kafka-fed Gatewarden to count ${N}`,
      async () => (await counted(viaKafka)) >= N,
      120_000,
      250,
    )
    t.diagnostic(`kafka: all ${N} counted at ${secs()} s`)

    const paths = { kafka: viaKafka, otlp: viaOtlp, http: viaHttp }
    for (const [name, gw] of Object.entries(paths)) {
      const res = await fetch(`${urlOf(gw)}/api/dead-letters?limit=5`)
      assert.deepEqual(
        ((await res.json()) as { dead_letters: unknown[] }).dead_letters,
        [],
        `${name}: dead letters`,
      )
    }

    for (const groupBy of ['customer', 'customer,model', 'customer,model,endpoint,agent']) {
      const answers = Object.fromEntries(
        await Promise.all(
          Object.entries(paths).map(async ([name, gw]) => [name, await costBy(gw, groupBy)] as const),
        ),
      )
      for (const [name, a] of Object.entries(answers))
        assert.equal(a.source, 'spend_by_hour', `${name} ${groupBy}`)
      // identical across the three paths: cost exactly (same decimals summed), every count exactly
      const http = sortedEntries(answers.http!.rows)
      assert.deepEqual(sortedEntries(answers.kafka!.rows), http, `kafka vs http, group_by=${groupBy}`)
      assert.deepEqual(sortedEntries(answers.otlp!.rows), http, `otlp vs http, group_by=${groupBy}`)
      // and what was sent
      assertMatchesLedger(answers.http!.rows, expectedBy(calls, groupBy), `group_by=${groupBy}`)
    }

    // raw rows (not the rollup) give the same per-customer figures on every path
    const hourly = sortedEntries((await costBy(viaHttp, 'customer')).rows)
    for (const [name, gw] of Object.entries(paths)) {
      const raw = await costBy(gw, 'customer', RAW_FROM)
      assert.equal(raw.source, 'requests', name)
      assert.deepEqual(sortedEntries(raw.rows), hourly, `${name}: raw requests vs hourly rollup`)
    }
  },
)
