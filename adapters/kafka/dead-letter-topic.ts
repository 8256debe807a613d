import { Partitioners, type Kafka, type Producer } from 'kafkajs'
import type { Logger } from 'pino'
import type { DeadLetter } from '../../schemas/dead-letter.js'

/**
 * Copies dead letters to a Kafka topic, best effort: the `dead_letters` table is the record, so a failed
 * send is logged and the partition moves on (a dead-letter topic that is down never stops ingest).
 */
export class DeadLetterTopic {
  readonly #producer: Producer
  #connected: Promise<void> | undefined

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly log: Logger,
  ) {
    this.#producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
    })
  }

  /** Produces one message per dead letter (value: the raw input as kept, headers: why and where). */
  async send(deadLetters: readonly DeadLetter[]): Promise<void> {
    if (deadLetters.length === 0) return
    try {
      this.#connected ??= this.#producer.connect()
      await this.#connected
      await this.#producer.send({
        topic: this.topic,
        acks: -1,
        timeout: 5_000,
        messages: deadLetters.map((d) => ({
          key: d.origin,
          value: d.raw,
          headers: {
            'gw-reason': d.reason,
            'gw-origin': d.origin,
            'gw-topic': d.topic,
            'gw-partition': String(d.partition),
            'gw-offset': String(d.offset),
            'gw-raw-bytes': String(d.raw_bytes),
          },
        })),
      })
    } catch (err) {
      this.#connected = undefined
      this.log.warn({ err, topic: this.topic, count: deadLetters.length }, 'dead letters not copied to topic')
    }
  }

  /** Disconnects the producer. */
  async shutdown(): Promise<void> {
    if (this.#connected) await this.#producer.disconnect().catch(() => undefined)
  }
}
