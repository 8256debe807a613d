import type { Kafka, Producer } from 'kafkajs'
import type { Logger } from 'pino'
import { GatewardenError } from '../../core/errors.js'
import type { RequestEvent } from '../../schemas/request-event.js'

/**
 * Writes accepted events to the ingest topic (`ingest.via_kafka`), one message per event keyed by its
 * `event_id` (so the copies of one event, from a resend or another instance, land on one partition and
 * are stored once by the consumer group), as canonical JSON.
 * MUST: `send` resolves only once every in-sync replica has the messages (acks=all, idempotent
 * producer): the caller acknowledges its sender on it.
 */
export class IngestProducer {
  readonly #producer: Producer

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly log: Logger,
  ) {
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
    })
  }

  async start(): Promise<void> {
    await this.#producer.connect()
    this.log.info({ topic: this.topic }, 'ingest topic producer connected')
  }

  /** Rejects with a retryable GW_INGEST_TOPIC_UNAVAILABLE when the brokers did not take them all. */
  async send(events: readonly RequestEvent[]): Promise<void> {
    if (events.length === 0) return
    try {
      await this.#producer.send({
        topic: this.topic,
        acks: -1,
        messages: events.map((e) => ({ key: e.event_id, value: JSON.stringify(e) })),
      })
    } catch (err) {
      throw new GatewardenError(
        'GW_INGEST_TOPIC_UNAVAILABLE',
        `ingest topic ${this.topic} did not take ${events.length} events`,
        true,
        { cause: err },
      )
    }
  }

  async shutdown(): Promise<void> {
    await this.#producer.disconnect()
  }
}
