import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { round10 } from '../support/events.js'
import { createTopic, startBroker, testKafka, waitFor, type TestBroker } from '../support/kafka-broker.js'
import { spawnGatewarden, stopGracefully, type GatewardenProcess } from '../support/gatewarden-process.js'
import { ProxyCalls, startLiteLLM, type LiteLLMProxy } from '../support/litellm-proxy.js'

type Row = {
  customer: string
  cost_usd: number
  requests: number
  failures: number
  agent?: string
  endpoint?: string
}

// The logger's linger is set far above how long a SIGTERM'd proxy takes to exit (~1 s), so the
// calls made right before `stop` can only reach Kafka through the logger's SIGTERM flush.
const LINGER_MS = 6_000

/**
 * The real LiteLLM proxy (PyPI, config-only, mock_response models) with the Gatewarden Kafka logger
 * (integrations/litellm/kafka_logger) produces every call to a real Kafka broker; a real
 * `gatewarden start` consumes the topic. Per-customer cost equals what LiteLLM charged per call in its
 * `x-litellm-response-cost` header; each call is one message keyed by its litellm_call_id.
 */
test(
  'real LiteLLM -> Kafka logger -> real broker -> gatewarden start: cost per customer matches what LiteLLM charged',
  { timeout: 600_000 },
  async (t) => {
    const started = Date.now()
    const run = `${process.pid}-${Date.now()}`
    const topic = `litellm-spend-${run}`
    const token = 'e2e-ingest-token-0123456789'
    const dir = mkdtempSync(join(tmpdir(), 'gw-e2e-litellm-kafka-'))
    let broker: TestBroker | undefined
    let gw: GatewardenProcess | undefined
    let proxy: LiteLLMProxy | undefined
    try {
      broker = startBroker('litellm-e2e')
      const kafka = testKafka(broker.brokers)
      await createTopic(kafka, topic, 3)
      const configFile = join(dir, 'gatewarden.yaml')
      writeFileSync(
        configFile,
        stringify({
          server: { port: 0 },
          store: { data_dir: join(dir, 'data') },
          writer: { max_batch_wait_ms: 100 },
          kafka: {
            brokers: broker.brokers,
            topics: [topic],
            group_id: `gw-litellm-e2e-${run}`,
            from_beginning: true,
            formats: { [topic]: 'litellm' }, // anything else on the topic would be dead-lettered
            max_wait_ms: 100,
            session_timeout_ms: 6_000,
            heartbeat_interval_ms: 500,
          },
        }),
      )
      gw = await spawnGatewarden({ GATEWARDEN_CONFIG: configFile, GATEWARDEN_AUTH_TOKEN: token })
      t.diagnostic(`broker + gatewarden up after ${Date.now() - started} ms`)
      proxy = startLiteLLM(gw.url, {
        LITELLM_CALLBACKS: 'kafka',
        LITELLM_KAFKA_BROKERS: broker.brokers.join(','),
        LITELLM_KAFKA_TOPIC: topic,
        GATEWARDEN_KAFKA_LINGER_MS: String(LINGER_MS),
      })
      t.diagnostic(`litellm proxy up after ${Date.now() - started} ms`)
      const litellm = proxy

      const calls = new ProxyCalls(litellm)
      const { expected, callIds } = calls
      const call = calls.call.bind(calls)

      const auth = { authorization: `Bearer ${token}` }
      const from = new Date(Date.now() - 3_600_000).toISOString()
      const to = new Date(Date.now() + 3_600_000).toISOString()
      const api = async <T>(path: string): Promise<T> => {
        const res = await fetch(`${gw!.url}${path}`, { headers: auth })
        assert.equal(res.status, 200, `GET ${path}`)
        return (await res.json()) as T
      }
      const costRows = async () =>
        (await api<{ rows: Row[] }>(`/api/cost?group_by=customer&from=${from}&to=${to}`)).rows
      const total = () => calls.total()
      let rows: Row[] = []
      const allArrived = () =>
        waitFor(
          () =>
            `${total()} calls in /api/cost (saw ${rows.reduce((a, r) => a + r.requests, 0)}); proxy log: ${litellm.workdir}/litellm.log`,
          async () => {
            rows = await costRows()
            return rows.reduce((a, r) => a + r.requests, 0) >= total()
          },
          60_000,
          250,
        )
      const assertCostsMatch = () => {
        assert.equal(
          rows.reduce((a, r) => a + r.requests, 0),
          total(),
          'every call counted once',
        )
        assert.deepEqual(rows.map((r) => r.customer).sort(), [...expected.keys()].sort(), 'customers')
        for (const r of rows) {
          const e = expected.get(r.customer)!
          assert.equal(r.requests, e.n, `requests of ${r.customer}`)
          assert.equal(r.failures, e.failures, `failures of ${r.customer}`)
          assert.equal(round10(r.cost_usd), e.cost, `cost of ${r.customer}`)
        }
      }

      // 1. several customers (end-user id, tags), a failure, an agent header
      await calls.standardMix()
      const sentAt = Date.now()
      await allArrived()
      t.diagnostic(
        `${total()} calls queryable ${Date.now() - sentAt} ms after the last one (linger ${LINGER_MS} ms)`,
      )
      assertCostsMatch()
      assert.ok(expected.get('acme')!.cost > 0, 'LiteLLM priced the mock calls')
      assert.ok(expected.get('initech')!.cost > 0, 'the claude deployment has a price')
      const byAgent = await api<{ rows: Row[] }>(
        `/api/cost?group_by=agent,endpoint&customer=initech&from=${from}&to=${to}`,
      )
      assert.deepEqual(
        byAgent.rows.map((r) => [r.agent, r.endpoint]),
        [['nightly-summarizer', '/v1/chat/completions']],
      )

      // 2. calls made right before a SIGTERM are still delivered (the logger flushes on SIGTERM)
      const hi = [{ role: 'user', content: 'hello' }]
      for (let i = 0; i < 2; i++)
        assert.equal(await call('hooli', { model: 'gpt-4o-mini', messages: hi, user: 'hooli' }), 200)
      const stopAt = Date.now()
      proxy.stop()
      proxy = undefined
      t.diagnostic(`proxy stopped (SIGTERM) ${Date.now() - stopAt} ms after the last call`)
      const proxyLog = readFileSync(join(litellm.workdir, 'litellm.log'), 'utf8')
      assert.match(proxyLog, /Finished server process/, 'the proxy shut down gracefully')
      assert.doesNotMatch(proxyLog, /shutdown flush .* left \d+ events queued/)
      await allArrived()
      assertCostsMatch()

      // 3. one message per call, keyed by its litellm_call_id, and nothing dead-lettered
      assert.equal(callIds.length, total(), 'LiteLLM returned x-litellm-call-id on every call')
      const keys = await topicKeys(kafka, topic, total())
      assert.deepEqual(keys.sort(), [...callIds].sort(), 'message keys are the calls litellm_call_ids')
      const dead = await api<{ dead_letters: unknown[] }>('/api/dead-letters')
      assert.deepEqual(dead.dead_letters, [], 'nothing dead-lettered')
      assert.ok(
        !gw.lines.join('\n').includes(litellm.masterKey),
        'the master key never reaches Gatewarden logs',
      )
      assert.doesNotMatch(proxyLog, /Hello from mock/, 'the payload is never logged by the Kafka logger')
      t.diagnostic(`done in ${Date.now() - started} ms`)
    } finally {
      proxy?.stop()
      if (gw) await stopGracefully(gw)
      broker?.destroy()
      rmSync(dir, { recursive: true, force: true })
    }
  },
)

/** Every message key on `topic` (expects exactly `count` messages), read with a throwaway consumer group. */
async function topicKeys(
  kafka: ReturnType<typeof testKafka>,
  topic: string,
  count: number,
): Promise<string[]> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    const produced = offsets.reduce((a, p) => a + Number(p.high) - Number(p.low), 0)
    assert.equal(produced, count, 'one message per call on the topic (no producer duplicates)')
  } finally {
    await admin.disconnect()
  }
  const consumer = kafka.consumer({ groupId: `keys-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 100 })
  const keys: string[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        keys.push(message.key?.toString('utf8') ?? '')
      },
    })
    await waitFor(
      () => `${count} messages read back (got ${keys.length})`,
      () => keys.length >= count,
      30_000,
    )
  } finally {
    await consumer.disconnect()
  }
  return keys
}
