import { test, after } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import assert from 'node:assert/strict'
import type { CostAnswer } from '../../schemas/api.js'
import { mapLiteLLMPayload } from '../../core/ingest/litellm/mapper.js'
import { Config } from '../../schemas/config.js'
import { failpointsFromEnv, processFailpoints } from '../../services/failpoints.js'
import { start, type Running } from '../../services/start.js'
import { createTopic, groupOffsets, useTestBroker, waitFor } from '../support/kafka-broker.js'
import { assertExactSpend, ExpectedKafkaSpend, SPEND_BASE_MS, storeCounts } from '../support/kafka-spend.js'
import { kafkaTestConfig, testLog } from '../support/kafka-gatewarden.js'
import { fixture } from '../support/paths.js'
import { freshStore, rows } from '../support/store.js'

// Issue 9, "ingest through Kafka": with `ingest.via_kafka`, HTTP ingest writes each accepted event to
// the ingest topic (keyed by event_id, acks=all) and answers once the brokers have it; the consumer
// group stores it. The store is down for 60 s of wall time (`store.insert=error` refuses every insert
// until the test clears it) while LiteLLM-shaped batches keep arriving over real HTTP, some sent twice
// (a sender's retry): nothing is refused, nothing lost, nothing counted twice (checked in the store
// and through /api/cost), and the rows waiting in memory stay under `max_pending_rows` (/metrics).

const kx = useTestBroker('via-kafka')
const run = `${process.pid}-${Date.now()}`
const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop()
})

/** How long the store is held down (wall time): the issue's scenario, not a wait before an assertion. */
const OUTAGE_MS = 60_000
/** Pace of the senders during the outage (a LiteLLM proxy flushing its batches). */
const SEND_EVERY_MS = 150
/** The writer's bound on rows in memory; a fetch (32 KiB per partition) holds fewer rows than this. */
const MAX_PENDING = 200
const BATCH = 10
const okBody = { accepted: BATCH, rejected: 0, duplicates: 0 }

test('config: ingest.via_kafka needs kafka, and its topic is not one of kafka.topics', () => {
  const none = Config.safeParse({ ingest: { via_kafka: true } })
  assert.equal(none.success, false)
  assert.deepEqual(none.error?.issues[0]?.path, ['ingest', 'via_kafka'])
  const clash = Config.safeParse({
    kafka: { brokers: ['k:9092'], topics: ['gatewarden.ingest'] },
    ingest: { via_kafka: true },
  })
  assert.deepEqual(clash.error?.issues[0]?.path, ['ingest', 'topic'])
})

test('store down for 60 s while LiteLLM traffic arrives over HTTP via the ingest topic: nothing refused, lost or counted twice; memory bounded', async () => {
  const source = `via-src-${run}`
  const ingestTopic = `via-ingest-${run}`
  await createTopic(kx.kafka, source, 1)
  await createTopic(kx.kafka, ingestTopic, 3)
  const groupId = `gw-via-${run}`
  const db = await freshStore('via_kafka')
  const database = db.database
  await db.client.close()
  const base = kafkaTestConfig({
    database,
    brokers: kx.broker.brokers,
    topics: [source],
    groupId,
    // a new group that starts at the latest offsets for its source topics still reads the ingest topic
    // from its start: nothing acked before the group first joined is skipped
    kafka: { max_bytes_per_partition: 32 * 1024, from_beginning: false },
    writer: { max_pending_rows: MAX_PENDING, store_retry_deadline_ms: 300, max_batch_wait_ms: 20 },
  })
  const cfg = Config.parse({ ...base, ingest: { via_kafka: true, topic: ingestTopic } })
  // acked by an instance before this group ever joined (a first deploy that died): on the topic only
  const ledger = new ExpectedKafkaSpend(`via-${run}`)
  const earlier = Array.from({ length: BATCH }, (_, j) => {
    const m = mapLiteLLMPayload(ledger.payload(j), {
      source: 'litellm_http',
      gateway: cfg.gateway,
      attribution: cfg.attribution,
      privacy: cfg.privacy,
    })
    assert.ok(m.ok)
    return m.event
  })
  await kx.producer.send({
    topic: ingestTopic,
    acks: -1,
    messages: earlier.map((e) => ({ key: e.event_id, value: JSON.stringify(e) })),
  })
  const log = testLog()
  const fp = processFailpoints(failpointsFromEnv({ GATEWARDEN_FAILPOINTS: 'store.insert=error' }), log)
  const gw = await start(cfg, log, undefined, { failpoints: fp })
  running.push(gw)
  const url = `http://${gw.address.host.includes(':') ? `[${gw.address.host}]` : gw.address.host}:${gw.address.port}`
  const metrics = async () => {
    const body = await (await fetch(`${url}/metrics`)).text()
    const value = (name: string) => {
      const line = body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
    }
    return {
      pending: value('gatewarden_pending_rows'),
      paused: value('gatewarden_kafka_paused_partitions'),
    }
  }
  let maxPending = 0
  let pausedSeen = 0
  const sample = async () => {
    const m = await metrics()
    assert.ok(m.pending !== undefined && m.paused !== undefined, 'the gauges are on /metrics')
    maxPending = Math.max(maxPending, m.pending)
    pausedSeen = Math.max(pausedSeen, m.paused)
  }

  // the store is down for OUTAGE_MS of wall time while traffic keeps arriving; every fifth batch is
  // sent twice (a sender retrying after a lost answer)
  const answers: Array<{ status: number; body: string }> = []
  let sent = 0
  let resent = 0
  const outageEnds = Date.now() + OUTAGE_MS
  for (let b = 0; Date.now() < outageEnds; b++) {
    const items = Array.from({ length: BATCH }, (_, j) => ledger.payload((b + 1) * BATCH + j))
    const copies = b % 5 === 3 ? 2 : 1
    for (let c = 0; c < copies; c++) {
      const res = await fetch(`${url}/ingest/litellm`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(items),
      })
      answers.push({ status: res.status, body: await res.text() })
      sent++
      if (c > 0) resent++
    }
    await sample()
    await sleep(SEND_EVERY_MS)
  }
  // nothing was refused: every send answered 200 with all its events accepted
  const refused = answers.filter((a) => a.status !== 200 || a.body !== JSON.stringify(okBody))
  assert.deepEqual(refused.slice(0, 3), [], `${refused.length} of ${sent} sends refused`)
  assert.ok(sent > 100 && resent > 0, `traffic kept arriving (${sent} sends, ${resent} resent)`)
  // every answer came while the store refused everything: they rest on the brokers alone
  assert.ok(fp.hits('store.insert') > 0, 'the consumer tried the store during the outage')
  assert.ok(pausedSeen > 0, 'the ingest partitions paused on the refused store')
  assert.equal((await storeCounts(gw.store)).rows, 0, 'nothing stored during the outage')
  const produced = await groupOffsets(kx.kafka, groupId, ingestTopic)
  assert.equal(
    produced.high.reduce((a, b) => a + b, 0),
    BATCH + sent * BATCH,
    'each accepted event is on the ingest topic (resends too)',
  )

  // the store comes back: the paused partitions resume and store everything once
  fp.clear('store.insert')
  let seen = ''
  await waitFor(
    () => `${ledger.total} rows (${seen})`,
    async () => {
      await sample()
      const [n, m, o] = [
        await storeCounts(gw.store),
        await metrics(),
        await groupOffsets(kx.kafka, groupId, ingestTopic),
      ]
      seen = `rows ${n.rows}, pending ${m.pending}, paused ${m.paused}, committed ${o.committed.join()} of ${o.high.join()}, store.insert hits ${fp.hits('store.insert')}`
      return n.rows >= ledger.total
    },
    300_000,
  )
  await waitFor('the ingest topic fully committed', async () => {
    const { committed, high } = await groupOffsets(kx.kafka, groupId, ingestTopic)
    return high.every((h, p) => committed[p] === h)
  })
  await assertExactSpend(gw.store, ledger)
  // the cost API answers the same sums: per customer, the ledger's cost and count exactly
  const from = new Date(SPEND_BASE_MS).toISOString()
  const to = new Date(SPEND_BASE_MS + (ledger.total + 1) * 3_700 + 3_600_000).toISOString()
  const cost = await (await fetch(`${url}/api/cost?group_by=customer&from=${from}&to=${to}`)).json()
  const answer = cost as CostAnswer
  const got = answer.rows
    .map((r) => [String(r.customer), BigInt(Math.round(r.cost_usd * 1e10)).toString(), r.requests])
    .sort()
  const want = [...ledger.expected].map(([c, v]) => [c, v.units.toString(), v.count]).sort()
  assert.deepEqual(got, want, '/api/cost: per-customer cost and requests')
  assert.equal(answer.total.requests, ledger.total, '/api/cost: total requests')
  const [src] = await (
    await gw.store.client.query({
      query: `SELECT groupUniqArray(source) AS s FROM ${gw.store.database}.requests`,
      format: 'JSONEachRow',
    })
  ).json<{ s: string[] }>()
  assert.deepEqual(src?.s, ['litellm_http'], 'the events keep the source they entered by')
  assert.ok(maxPending <= MAX_PENDING, `pending rows stayed under max_pending_rows (max seen ${maxPending})`)
  await waitFor('no partition paused', async () => (await metrics()).paused === 0)

  // OTLP takes the same way: produced to the ingest topic, stored by the group with source otlp
  const before = (await groupOffsets(kx.kafka, groupId, ingestTopic)).high.reduce((a, b) => a + b, 0)
  const otlp = await gw.app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(fixture('otlp/litellm-otel-success-user.json')),
  })
  assert.equal(otlp.statusCode, 200, otlp.body)
  const after = (await groupOffsets(kx.kafka, groupId, ingestTopic)).high.reduce((a, b) => a + b, 0)
  assert.equal(after - before, 1, 'one LLM call, one message on the ingest topic')
  await waitFor('the OTLP event stored', async () => {
    const [r] = await rows<{ n: string }>(
      gw.store,
      "SELECT toString(count()) AS n FROM {{db}}.requests WHERE source = 'otlp'",
    )
    return r?.n === '1'
  })
  assert.equal((await storeCounts(gw.store)).rows, ledger.total + 1)
})
