import { test } from 'node:test'
import { start } from '../../services/start.js'
import { createTopic, groupOffsets, produceAll, useTestBroker, waitFor } from '../support/kafka-broker.js'
import { assertExactSpend, spendMessages, ExpectedKafkaSpend, storeCounts } from '../support/kafka-spend.js'
import { kafkaTestConfig, testLog } from '../support/kafka-gatewarden.js'

const run = `${process.pid}-${Date.now()}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const kx = useTestBroker('restart')

test('broker stopped and restarted mid-stream (SIGTERM, then SIGKILL): exact sums, nothing counted twice', async (t) => {
  const t0 = Date.now()
  const phase = (name: string) => t.diagnostic(`${name} at ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  const topic = `restart-${run}`
  const groupId = `gw-restart-${run}`
  await createTopic(kx.kafka, topic, 3)
  const ledger = new ExpectedKafkaSpend(`restart-${run}`)
  const cfg = kafkaTestConfig({
    database: `kafka_restart_${process.pid}`,
    brokers: kx.broker.brokers,
    topics: [topic],
    groupId,
  })
  const running = await start(cfg, testLog())
  try {
    // a producer that keeps going through both outages: a failed send is sent again (same event ids)
    // once the broker is back; it runs until told to stop (the cap is a guard)
    let producing = true
    let brokerUp = true
    let inFlight = false
    let sendsDone = 0
    const background = (async () => {
      for (let i = 0; producing && i < 40_000; i += 40) {
        const messages = spendMessages(ledger, i, i + 40)
        for (;;) {
          inFlight = true
          try {
            await produceAll(kx.producer, topic, messages)
            sendsDone++
            break
          } catch {
            inFlight = false
            await waitFor('the broker back for a resend', () => brokerUp, 180_000)
          }
        }
        inFlight = false
        await sleep(100) // the pace of the traffic
      }
    })()
    /**
     * The broker is stopped: hold it down until a send is in flight against it (the outage met traffic;
     * a send in flight while the broker process is gone cannot be done), then restart it.
     */
    const outage = async (what: string) => {
      brokerUp = false
      await waitFor(`a send in flight while ${what}`, () => inFlight, 60_000)
      await kx.broker.restart()
      brokerUp = true
    }
    const stored = async () => (await storeCounts(running.store)).rows

    await waitFor('some rows stored', async () => (await stored()) >= 200)
    // controlled shutdown while the consumer is mid-stream; it keeps retrying while the broker is gone
    phase('stopping the broker')
    await kx.broker.stop()
    await outage('the broker is stopped')
    phase('broker restarted')
    const before = await stored()
    await waitFor('rows flowing after the first restart', async () => (await stored()) > before + 100)

    // crash of the broker (SIGKILL) mid-stream, then restart on the same data
    phase('killing the broker')
    await kx.broker.stop({ kill: true })
    await outage('the broker is killed')
    phase('broker restarted')
    const sendsBefore = sendsDone
    await waitFor('sends done after the restart', () => sendsDone >= sendsBefore + 2, 120_000)
    producing = false
    await background
    phase(`produced ${ledger.total}`)

    await waitFor(
      `${ledger.total} rows`,
      async () => (await storeCounts(running.store)).rows >= ledger.total,
      120_000,
    )
    await waitFor(
      'all offsets committed',
      async () => {
        const { committed, high } = await groupOffsets(kx.kafka, groupId, topic)
        return high.length === 3 && high.every((h, p) => committed[p] === h)
      },
      60_000,
    )
    phase('all stored and committed')
    await assertExactSpend(running.store, ledger)
  } finally {
    await running.stop()
  }
})
