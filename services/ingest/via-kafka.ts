import type { DeadLetter } from '../../schemas/dead-letter.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { BatchWriter, WriteReceipt } from './batch-writer.js'

/** Where accepted events go with `ingest.via_kafka` (the ingest topic producer). */
export interface IngestTopic {
  send(events: readonly RequestEvent[]): Promise<void>
}

/**
 * The writer HTTP and OTLP ingest see with `ingest.via_kafka`: events go to the ingest topic and the
 * submission resolves once the brokers have them (acks=all), so a store outage never refuses them; the
 * consumer group stores them and drops copies by `event_id` (a resend, another instance). Dead letters
 * are not events: they go to the store directly, after the events, so only a submission that has some
 * is refused while the store is down (its resend produces its events again: stored once).
 * `duplicates` is 0: copies are found when stored, not when produced.
 */
export function viaKafkaWriter(
  topic: IngestTopic,
  writer: Pick<BatchWriter, 'submit'>,
): Pick<BatchWriter, 'submit'> {
  return {
    async submit(
      events: readonly RequestEvent[],
      deadLetters: readonly DeadLetter[] = [],
    ): Promise<WriteReceipt> {
      await topic.send(events)
      if (deadLetters.length > 0) await writer.submit([], deadLetters)
      return { stored: events.length, duplicates: 0, deadLettered: deadLetters.length }
    },
  }
}
