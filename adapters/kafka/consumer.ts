import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs'
import type { Logger } from 'pino'
import type { KafkaConfig } from '../../schemas/kafka-config.js'
import type { DeadLetter } from '../../schemas/dead-letter.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { NO_FAILPOINTS, type Failpoints } from '../../core/failpoints.js'
import { backoffDelay, systemClock, type RetryClock, type RetryPolicy } from '../../core/retry.js'
import type { GaugePoint } from '../telemetry/metrics.js'
import { KAFKA_RETRY } from './client.js'
import { DeadLetterTopic } from './dead-letter-topic.js'
import { LagTracker } from './lag.js'

/** One fetched message, as the batch handler sees it. */
export interface KafkaRecord {
  topic: string
  partition: number
  offset: string
  value: Buffer | null
}

/** What the consumer hands its batches to (the service wires it to the mappers and the writer). */
export interface KafkaBatchHandler {
  /** Maps a batch of one partition; bad input becomes dead letters, never an exception. */
  decode(
    records: readonly KafkaRecord[],
  ):
    | { events: RequestEvent[]; deadLetters: DeadLetter[] }
    | Promise<{ events: RequestEvent[]; deadLetters: DeadLetter[] }>
  /** True when `rows` more would be refused now: the consumer pauses instead of submitting. */
  isSaturated(rows: number): boolean
  /** Resolves once the rows are committed in the store; rejects when they are not (then nothing is committed). */
  store(events: readonly RequestEvent[], deadLetters: readonly DeadLetter[]): Promise<void>
}

/** Backoff of a paused partition before its batch is fetched and tried again. */
const PAUSE_BACKOFF: RetryPolicy = {
  maxAttempts: Infinity,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  deadlineMs: Infinity,
}

const tp = (topic: string, partition: number) => `${topic}/${partition}`

/**
 * A Kafka consumer group feeding the store, at least once: a batch's offsets are resolved and committed
 * only after `handler.store()` resolved, so a crash, a rebalance or a broker restart redelivers only
 * rows the writer then drops as duplicates (`event_id`).
 *
 * Invariants:
 * - The batch handler never throws for bad data: bad messages are dead letters, stored with the batch.
 * - When the writer is saturated or the store refuses a batch, the partition is paused and the batch is
 *   not resolved; it is fetched again after a jittered backoff (memory stays bounded by the fetch sizes).
 * - `stop()` lets the in-flight batches finish, commits their offsets, then leaves the group.
 */
export class KafkaConsumerGroup {
  readonly #consumer: Consumer
  readonly #admin: Admin
  readonly #deadLetterTopic: DeadLetterTopic | undefined
  readonly #lag = new LagTracker()
  readonly #attempts = new Map<string, number>()
  readonly #timers = new Set<NodeJS.Timeout>()
  #lagTimer: NodeJS.Timeout | undefined
  #lagRefreshing: Promise<void> | undefined
  #adminConnected = false
  #stopping = false
  #stopped: Promise<void> | undefined

  /** `lagKafka`: the client the lag reader's admin uses (give it a short retry); defaults to `kafka`. */
  constructor(
    kafka: Kafka,
    private readonly cfg: KafkaConfig & {
      /** Topics a group without committed offsets reads from the start whatever `from_beginning` says. */
      from_beginning_topics?: readonly string[]
    },
    private readonly handler: KafkaBatchHandler,
    private readonly log: Logger,
    lagKafka: Kafka = kafka,
    private readonly clock: RetryClock = systemClock,
    private readonly failpoints: Failpoints = NO_FAILPOINTS,
  ) {
    this.#consumer = kafka.consumer({
      groupId: cfg.group_id,
      sessionTimeout: cfg.session_timeout_ms,
      heartbeatInterval: cfg.heartbeat_interval_ms,
      maxWaitTimeInMs: cfg.max_wait_ms,
      maxBytesPerPartition: cfg.max_bytes_per_partition,
      maxBytes: cfg.max_bytes_per_partition * cfg.concurrency,
      retry: {
        ...KAFKA_RETRY,
        // a crash after the retries (broker gone for long) restarts the consumer, unless we are stopping
        restartOnFailure: (err) => {
          this.log.error({ err, restart: !this.#stopping }, 'kafka consumer crashed')
          return Promise.resolve(!this.#stopping)
        },
      },
    })
    this.#admin = lagKafka.admin({ retry: { retries: 1 } })
    this.#deadLetterTopic = cfg.dead_letter_topic
      ? new DeadLetterTopic(kafka, cfg.dead_letter_topic, log)
      : undefined
    const { GROUP_JOIN, STOP, CRASH } = this.#consumer.events
    this.#consumer.on(GROUP_JOIN, (e) => {
      this.#lag.assign(e.payload.memberAssignment)
      const mine = new Set(
        Object.entries(e.payload.memberAssignment).flatMap(([t, ps]) => ps.map((p) => tp(t, p))),
      )
      for (const k of this.#attempts.keys()) if (!mine.has(k)) this.#attempts.delete(k)
      this.log.info(
        { memberId: e.payload.memberId, assignment: e.payload.memberAssignment },
        'kafka partitions assigned',
      )
    })
    this.#consumer.on(STOP, () => this.#lag.assign({}))
    this.#consumer.on(CRASH, () => this.#lag.assign({}))
  }

  /** Connects, joins the group and starts consuming. Rejects when the brokers stay unreachable (kafkajs retries first). */
  async start(): Promise<void> {
    await this.#consumer.connect()
    const always = new Set(this.cfg.from_beginning_topics ?? [])
    const rest = this.cfg.topics.filter((t) => !always.has(t))
    if (rest.length > 0)
      await this.#consumer.subscribe({ topics: rest, fromBeginning: this.cfg.from_beginning })
    if (always.size > 0) await this.#consumer.subscribe({ topics: [...always], fromBeginning: true })
    await this.#consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.cfg.concurrency,
      eachBatch: (payload) => this.#onBatch(payload),
    })
    this.#lagTimer = setInterval(() => this.#refreshLag(), this.cfg.lag_refresh_ms)
    this.#lagTimer.unref()
    this.log.info(
      { topics: this.cfg.topics, groupId: this.cfg.group_id, brokers: this.cfg.brokers },
      'kafka consumer started',
    )
  }

  /** Lag per assigned partition, for the /metrics gauge. */
  lag(): GaugePoint[] {
    return this.#lag.points()
  }

  /** Partitions paused by backpressure now. */
  pausedPartitions(): number {
    return this.#attempts.size
  }

  /** Stops fetching, waits for in-flight batches to be stored and committed, leaves the group. Idempotent. */
  stop(): Promise<void> {
    return (this.#stopped ??= (async () => {
      this.#stopping = true
      clearInterval(this.#lagTimer)
      for (const t of this.#timers) clearTimeout(t)
      this.#timers.clear()
      await this.#consumer.disconnect()
      await this.#deadLetterTopic?.shutdown()
      await this.#lagRefreshing
      if (this.#adminConnected) await this.#admin.disconnect().catch(() => undefined)
      this.log.info({ groupId: this.cfg.group_id }, 'kafka consumer stopped')
    })())
  }

  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    const { topic, partition } = batch
    const last = batch.messages.at(-1)
    if (!last || !payload.isRunning() || payload.isStale()) return
    const { events, deadLetters } = await this.handler.decode(
      batch.messages.map((m) => ({ topic, partition, offset: m.offset, value: m.value })),
    )
    if (this.handler.isSaturated(events.length + deadLetters.length)) {
      this.#backOff(topic, partition, payload, { reason: 'writer saturated' })
      return
    }
    try {
      await this.handler.store(events, deadLetters)
    } catch (err) {
      this.#backOff(topic, partition, payload, { reason: 'store refused the batch', err })
      return
    }
    if (this.#attempts.delete(tp(topic, partition)))
      this.log.info({ topic, partition }, 'kafka partition flowing again')
    await this.failpoints.fire('kafka.before_commit', {
      topic,
      partition,
      first: batch.messages[0]!.offset,
      last: last.offset,
      events: events.length,
    })
    await this.#deadLetterTopic?.send(deadLetters)
    // the rows are in the store: only now may the group move past them
    payload.resolveOffset(last.offset)
    this.#lag.processed(topic, partition, Number(last.offset) + 1, Number(batch.highWatermark))
    // committed here, not after the handler returns, so `kafka.after_commit` means what it says
    const next = (BigInt(last.offset) + 1n).toString()
    await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] })
    await this.failpoints.fire('kafka.after_commit', { topic, partition, last: last.offset })
    await payload.heartbeat()
  }

  /** Pauses the partition without resolving its batch; resumes it (the batch is fetched again) after a backoff. */
  #backOff(
    topic: string,
    partition: number,
    payload: Pick<EachBatchPayload, 'pause'>,
    why: { reason: string; err?: unknown },
  ): void {
    const k = tp(topic, partition)
    const attempt = (this.#attempts.get(k) ?? 0) + 1
    this.#attempts.set(k, attempt)
    const delayMs = backoffDelay(PAUSE_BACKOFF, attempt, this.clock.random())
    const resume = payload.pause()
    // a long outage retries every few seconds per partition: warn on the first pause and every 10th
    const level = attempt === 1 || attempt % 10 === 0 ? 'warn' : 'debug'
    this.log[level](
      { topic, partition, attempt, delayMs, reason: why.reason, err: why.err },
      'kafka partition paused',
    )
    if (this.#stopping) return
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      resume()
    }, delayMs)
    this.#timers.add(timer)
  }

  #refreshLag(): void {
    if (this.#lagRefreshing || this.#stopping) return
    this.#lagRefreshing = (async () => {
      if (!this.#adminConnected) {
        await this.#admin.connect()
        this.#adminConnected = true
      }
      await this.#lag.refresh(this.#admin, this.cfg.group_id, this.cfg.topics)
    })()
      .catch((err: unknown) => this.log.debug({ err }, 'kafka lag not refreshed'))
      .finally(() => (this.#lagRefreshing = undefined))
  }
}
