import { after, before } from 'node:test'
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Kafka, logLevel, Partitioners, type Message, type Producer, type RecordMetadata } from 'kafkajs'
import { REPO_ROOT } from './paths.js'
import { waitFor } from './wait.js'

const run = promisify(execFile)
const script = (name: string) => join(REPO_ROOT, 'scripts', 'kafka', name)

/** A real single-node Kafka broker (scripts/kafka) in a temp workdir. */
export interface TestBroker {
  workdir: string
  brokers: string[]
  /** Stops it (SIGTERM, or SIGKILL with `kill`) without blocking the event loop: clients keep running meanwhile. */
  stop(opts?: { kill?: boolean }): Promise<void>
  /** Starts it again on the same workdir: same port, same data. */
  restart(): Promise<void>
  /** Stops it for good and removes the workdir (synchronous, for `after`). */
  destroy(): void
}

const brokersOf = (stdout: string) => {
  const line = stdout.trim().split('\n').at(-1) ?? ''
  const m = /^KAFKA_BROKERS=(.+)$/.exec(line)
  if (!m) throw new Error(`start.sh did not print KAFKA_BROKERS=...; last line: ${line}`)
  return m[1]!.split(',')
}

/**
 * Installs (cached) and starts a broker; throws when it cannot start, so the test fails rather than skips.
 * Blocks for the few seconds start.sh takes (call it in `before`).
 */
export function startBroker(name: string): TestBroker {
  const workdir = mkdtempSync(join(tmpdir(), `gw-kafka-${name}-`))
  const opts = {
    encoding: 'utf8' as const,
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
    timeout: 180_000,
  }
  let out: string
  try {
    out = execFileSync(script('start.sh'), [workdir], opts)
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    throw new Error(`kafka broker did not start: ${e.message}\n${e.stderr ?? ''}`, { cause: err })
  }
  const brokers = brokersOf(out)
  return {
    workdir,
    brokers,
    stop: async ({ kill = false } = {}) => {
      await run(script('stop.sh'), kill ? ['--kill', workdir] : [workdir], { timeout: 60_000 })
    },
    restart: async () => {
      const { stdout } = await run(script('start.sh'), [workdir], { timeout: 120_000 })
      const again = brokersOf(stdout)
      if (again.join() !== brokers.join())
        throw new Error(`broker came back on ${again.join()}, not ${brokers.join()}`)
    },
    destroy: () => {
      execFileSync(script('stop.sh'), ['--kill', workdir], { stdio: 'ignore', timeout: 60_000 })
      rmSync(workdir, { recursive: true, force: true })
    },
  }
}

/** A kafkajs client for test producers and admin calls (quiet logs). */
export function testKafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'gw-test',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 200, maxRetryTime: 2_000 },
  })
}

/**
 * Creates a topic and waits until every partition has a leader. kafkajs' own `waitForLeaders` gives up at
 * once when the brokers' metadata does not list the new topic yet (UNKNOWN_TOPIC_OR_PARTITION, seen right
 * after a broker start), so the wait is here: on the metadata, until it lists each partition with a leader.
 */
export async function createTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: false,
    })
    await waitFor(`leaders for the ${partitions} partitions of ${topic}`, async () => {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
        const ps = topics[0]?.partitions ?? []
        return ps.length === partitions && ps.every((p) => p.leader >= 0)
      } catch {
        return false // not in the metadata yet
      }
    })
  } finally {
    await admin.disconnect()
  }
}

/** A connected idempotent producer (acks=all), so a test's produced set is exactly what it sent. */
export async function testProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  await producer.connect()
  return producer
}

/** Sends messages to `topic` (all to `partition` when given); the metadata has each partition's base offset. */
export function produce(
  producer: Producer,
  topic: string,
  messages: Message[],
  partition?: number,
): Promise<RecordMetadata[]> {
  return producer.send({
    topic,
    acks: -1,
    messages: partition === undefined ? messages : messages.map((m) => ({ ...m, partition })),
  })
}

/** Sends `messages` in sends of `chunk` (a record batch must stay under the broker's 1 MB message.max.bytes). */
export async function produceAll(
  producer: Producer,
  topic: string,
  messages: Message[],
  chunk = 20,
): Promise<void> {
  for (let i = 0; i < messages.length; i += chunk)
    await produce(producer, topic, messages.slice(i, i + chunk))
}

/** Committed offset per partition of `groupId` on `topic` (-1 = none) and the high watermarks. */
export async function groupOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<{ committed: number[]; high: number[] }> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [committedTopic] = await admin.fetchOffsets({ groupId, topics: [topic] })
    const highs = await admin.fetchTopicOffsets(topic)
    const committed: number[] = []
    const high: number[] = []
    for (const p of committedTopic?.partitions ?? []) committed[p.partition] = Number(p.offset)
    for (const p of highs) high[p.partition] = Number(p.high)
    return { committed, high }
  } finally {
    await admin.disconnect()
  }
}

export { waitFor } from './wait.js'

/** A test file's broker, client and producer, set up before its tests and torn down after them. */
export interface BrokerFixture {
  broker: TestBroker
  kafka: Kafka
  producer: Producer
}

/**
 * Registers `before`/`after` hooks that start a real broker (`name` names its work directory), a client
 * and an idempotent producer, and stop them. The fields are set once `before` has run.
 */
export function useTestBroker(name: string): BrokerFixture {
  const fx = {} as BrokerFixture
  before(async () => {
    fx.broker = startBroker(name)
    fx.kafka = testKafka(fx.broker.brokers)
    fx.producer = await testProducer(fx.kafka)
  })
  after(async () => {
    await fx.producer?.disconnect()
    fx.broker?.destroy()
  })
  return fx
}
