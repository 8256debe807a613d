import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { createStoreClient, type StoreClient } from '../../adapters/clickhouse/client.js'
import { FAILPOINT_NAMES } from '../../core/failpoints.js'
import { StoreConfig } from '../../schemas/config.js'
import { createTopic, groupOffsets, produceAll, useTestBroker } from '../support/kafka-broker.js'
import {
  spendMessages,
  ExpectedKafkaSpend,
  storeCounts,
  storeSpend,
  type Spend,
} from '../support/kafka-spend.js'
import { rows } from '../support/store.js'
import {
  killHard,
  spawnGatewarden,
  stopGracefully,
  waitForFailpointCrash,
  type GatewardenProcess,
} from '../support/gatewarden-process.js'
import { waitFor } from '../support/wait.js'
import { prng } from '../support/prng.js'

/** Kills in the loop; each at a failpoint and hit drawn from the seed. */
const KILLS = 10
const HTTP_BATCH = 10
const KAFKA_CHUNK = 10

// a killed consumer's group member lingers until its session expires: let sessions be short (2 s)
process.env.KAFKA_EXTRA_PROPERTIES = 'group.min.session.timeout.ms=1000'
const kx = useTestBroker('crash-loop')
const run = `${process.pid}-${Date.now()}`
let child: GatewardenProcess | undefined
after(async () => {
  if (child) await killHard(child)
})

/** POSTs a LiteLLM batch; true only on a 200 that accepted all of it (a crash mid-request is no answer). */
async function post(p: GatewardenProcess, batch: unknown[]): Promise<boolean> {
  let res: Response
  let text: string
  try {
    res = await fetch(`${p.url}/ingest/litellm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    })
    text = await res.text()
  } catch {
    return false // the process died under the request: no answer
  }
  if (res.status !== 200) return false
  const out = JSON.parse(text) as { accepted: number; rejected: number; duplicates: number }
  // a resend after a crash may find some or all of its rows stored already (duplicates)
  assert.equal(out.accepted + out.duplicates, batch.length, text)
  assert.equal(out.rejected, 0, text)
  return true
}

test(`${KILLS} kill -9 at seeded random failpoints during HTTP and Kafka ingest, restart each time: every acked and produced event stored once, exact cost`, async (t) => {
  const seed = Number(process.env.GW_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
  t.diagnostic(`seed ${seed} (GW_CRASH_SEED=${seed} replays this sequence of kills)`)
  const random = prng(seed)

  const topic = `crash-loop-${run}`
  const groupId = `gw-crash-loop-${run}`
  await createTopic(kx.kafka, topic, 3)
  const dir = mkdtempSync(join(tmpdir(), 'gw-crash-loop-'))
  const database = 'crash_loop'
  const configFile = join(dir, 'gatewarden.yaml')
  writeFileSync(
    configFile,
    stringify({
      server: { port: 0 },
      store: { data_dir: join(dir, 'data'), database },
      writer: { max_batch_wait_ms: 50 },
      kafka: {
        brokers: ['127.0.0.1:1'], // replaced by KAFKA_BROKERS
        topics: [topic],
        group_id: groupId,
        from_beginning: true,
        max_wait_ms: 100,
        session_timeout_ms: 2_000,
        heartbeat_interval_ms: 300,
        max_bytes_per_partition: 16 * 1024,
        lag_refresh_ms: 500,
      },
    }),
  )
  const env = { GATEWARDEN_CONFIG: configFile, KAFKA_BROKERS: kx.broker.brokers.join(','), LOG_LEVEL: 'info' }

  // one ledger for both paths: every HTTP batch is resent until acked, every Kafka message was produced
  const ledger = new ExpectedKafkaSpend(`loop-${run}`)
  let next = 0
  const given = { http: 0, kafka: 0 }
  const take = (n: number, path: keyof typeof given) => {
    given[path] += n
    return (next += n) - n
  }
  /** Rows per source against what each path was given, to say which path lost or doubled rows. */
  const bySource = async (store: StoreClient): Promise<string> => {
    const got = await rows<{ source: string; n: string; ids: string }>(
      store,
      'SELECT source, toString(count()) AS n, toString(uniqExact(event_id)) AS ids FROM {{db}}.requests GROUP BY source ORDER BY source',
    )
    return `stored ${JSON.stringify(got)}; given ${JSON.stringify(given)}`
  }
  /** What the rollup repair logged at each start: hours rebuilt, and any failure (there must be none). */
  const repairs: string[] = []
  const repairFailures: string[] = []
  const noteRepairs = (p: GatewardenProcess, start: number) => {
    for (const line of p.lines) {
      let rec: { msg?: string; table?: string; hours?: string[] }
      try {
        rec = JSON.parse(line) as typeof rec
      } catch {
        continue
      }
      if (rec.msg === 'rollup repaired from raw rows')
        repairs.push(`start ${start}: ${rec.table} ${rec.hours?.join(' ')}`)
      if (
        rec.msg === 'rollup repair failed: still differs from raw rows' ||
        rec.msg === 'rollup repair could not run'
      )
        repairFailures.push(line)
    }
  }
  let pending: unknown[] | undefined
  let httpBatches = 0
  let acked = 0

  const kills: string[] = []
  for (let k = 0; k < KILLS; k++) {
    const failpoint = FAILPOINT_NAMES[Math.floor(random() * FAILPOINT_NAMES.length)]!
    const hit = 1 + Math.floor(random() * 3)
    const spec = `${failpoint}=crash@${hit}`
    const roundStarted = Date.now()
    child = await spawnGatewarden({ ...env, GATEWARDEN_FAILPOINTS: spec })
    noteRepairs(child, k + 1)
    let alive = true
    const crashed = waitForFailpointCrash(child, 30_000).finally(() => (alive = false))
    crashed.catch(() => undefined) // awaited below; the loop only watches `alive`
    // traffic on both paths until the armed point kills the process
    while (alive) {
      const from = take(KAFKA_CHUNK, 'kafka')
      await produceAll(kx.producer, topic, spendMessages(ledger, from, from + KAFKA_CHUNK))
      if (!pending) {
        const from = take(HTTP_BATCH, 'http')
        pending = Array.from({ length: HTTP_BATCH }, (_, i) => ledger.payload(from + i))
        httpBatches++
      }
      if (await post(child, pending)) {
        pending = undefined
        acked++
      }
    }
    const crash = await crashed
    assert.equal(crash.failpoint, failpoint, `kill ${k + 1}: ${spec}`)
    assert.equal(crash.hit, hit)
    kills.push(`${spec} (${Date.now() - roundStarted} ms)`)
    child = undefined
  }

  // a clean start: the unacked HTTP batch is resent, the rest of the topic consumed
  child = await spawnGatewarden(env)
  noteRepairs(child, KILLS + 1)
  t.diagnostic(`rollup repairs: ${repairs.length === 0 ? 'none' : repairs.join('; ')}`)
  assert.deepEqual(repairFailures, [], 'the rollup repair never failed')
  if (pending) {
    const batch = pending
    await waitFor('the last unacked HTTP batch to be acked', () => post(child!, batch), 30_000, 200)
    acked++
  }
  assert.equal(acked, httpBatches, 'every HTTP batch acked in the end')
  t.diagnostic(`kills: ${kills.join(', ')}`)
  await waitFor('all offsets committed', async () => {
    const { committed, high } = await groupOffsets(kx.kafka, groupId, topic)
    return high.length === 3 && high.every((h, p) => committed[p] === h)
  })
  t.diagnostic(`${httpBatches} HTTP batches, ${ledger.total} events`)
  assert.equal(await stopGracefully(child), 0)
  child = undefined

  const store = createStoreClient(StoreConfig.parse({ data_dir: join(dir, 'data'), database }))
  const show = (m: Spend) =>
    JSON.stringify(
      [...m].sort(([x], [y]) => (x < y ? -1 : 1)).map(([c, v]) => [c, v.units.toString(), v.count]),
    )
  try {
    const counts = await storeCounts(store)
    if (counts.rows !== ledger.total || counts.ids !== ledger.total)
      assert.fail(
        `requests: ${counts.rows} rows, ${counts.ids} ids, want ${ledger.total}; ${await bySource(store)}`,
      )
    assert.equal(
      show(await storeSpend(store, 'requests')),
      show(ledger.expected),
      'requests: per-customer cost and count',
    )
    // a kill -9 while an insert is under way can leave the batch in `requests` and not in the rollup
    // views (each table's part commits on its own), and the resend is dropped as already stored; the
    // rollup repair at each start (adapters/clickhouse/rollup-repair.ts) rebuilds those hours from raw rows
    assert.equal(
      show(await storeSpend(store, 'spend_by_hour')),
      show(ledger.expected),
      'spend_by_hour: per-customer cost and count',
    )
  } finally {
    await store.client.close()
  }
  rmSync(dir, { recursive: true, force: true })
})
