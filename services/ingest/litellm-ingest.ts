import type { RawItem } from '../../core/ingest/ndjson.js'
import { eventTimeProblem } from '../../core/ingest/event-time.js'
import type { IngestOutcome } from '../../adapters/http/ports.js'
import type { Metrics } from '../../adapters/telemetry/metrics.js'
import { mapLiteLLMPayload, type MapperOptions } from '../../core/ingest/litellm/mapper.js'
import { deadLetter, type DeadLetter } from '../../schemas/dead-letter.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { BatchWriter } from './batch-writer.js'

/**
 * Maps LiteLLM payloads and hands them to the writer. Invalid items become dead letters and never
 * reject their valid neighbours. Resolves once everything is stored (the caller acks after it).
 */
export function createLiteLLMIngest(
  writer: BatchWriter,
  mapper: MapperOptions,
  metrics: Metrics,
  retentionDays: number,
  now: () => number = Date.now,
): (items: RawItem[], origin: string) => Promise<IngestOutcome> {
  return async (items, origin) => {
    const events: RequestEvent[] = []
    const dead: DeadLetter[] = []
    const receivedAt = now()
    items.forEach((item, i) => {
      const where = { source: mapper.source, origin: `${origin} item ${i}`, received_at: receivedAt }
      if (!item.ok) {
        dead.push(deadLetter(item.raw, { ...where, reason: item.reason }))
        return
      }
      const mapped = mapLiteLLMPayload(item.value, mapper)
      if (!mapped.ok) dead.push(deadLetter(item.value, { ...where, reason: mapped.reason }))
      else {
        const reason = eventTimeProblem(mapped.event.ts, receivedAt, retentionDays)
        if (reason === null) events.push(mapped.event)
        else dead.push(deadLetter(item.value, { ...where, reason }))
      }
    })
    try {
      const receipt = await writer.submit(events, dead)
      metrics.eventsAccepted(mapper.source, events.length)
      metrics.eventsDuplicate(mapper.source, receipt.duplicates)
      metrics.eventsRejected(mapper.source, dead.length)
      return { accepted: events.length, rejected: dead.length, duplicates: receipt.duplicates }
    } catch (err) {
      metrics.ingestRefused(mapper.source, (err as { code?: string }).code ?? 'error')
      throw err
    }
  }
}
