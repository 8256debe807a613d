import type { OtlpOutcome } from '../../adapters/http/ports.js'
import { eventTimeProblem } from '../../core/ingest/event-time.js'
import type { Metrics } from '../../adapters/telemetry/metrics.js'
import { GatewardenError } from '../../core/errors.js'
import { mapOtlpTraces, type OtlpMapperOptions } from '../../core/ingest/otlp/mapper.js'
import { deadLetter, type DeadLetter } from '../../schemas/dead-letter.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { BatchWriter } from './batch-writer.js'

/** Longest `error_message` of a partial success. */
const MESSAGE_MAX = 1024

/**
 * Maps OTLP export requests (decoded to their JSON shape) and hands the events to the writer.
 * Spans that are not LLM calls are ignored; LLM spans that cannot be mapped become dead letters and
 * are reported as rejected (OTLP partial success). Resolves once everything is stored (ack = durable);
 * an unreadable request throws GW_BAD_REQUEST.
 */
export function createOtlpIngest(
  writer: BatchWriter,
  mapper: OtlpMapperOptions,
  metrics: Metrics,
  retentionDays: number,
  now: () => number = Date.now,
): (request: unknown, origin: string) => Promise<OtlpOutcome> {
  return async (request, origin) => {
    const mapped = mapOtlpTraces(request, mapper)
    if (!mapped.ok) throw new GatewardenError('GW_BAD_REQUEST', mapped.reason, false)
    const events: RequestEvent[] = []
    const dead: DeadLetter[] = []
    const reasons: string[] = []
    let ignored = 0
    const receivedAt = now()
    for (const s of mapped.spans) {
      const where = { source: mapper.source, origin: `${origin} ${s.where}`, received_at: receivedAt }
      const timeProblem = s.kind === 'event' ? eventTimeProblem(s.event.ts, receivedAt, retentionDays) : null
      if (s.kind === 'ignored') ignored++
      else if (s.kind === 'dead') {
        dead.push(deadLetter(s.raw, { ...where, reason: s.reason }))
        reasons.push(`${s.where}: ${s.reason}`)
      } else if (timeProblem !== null) {
        const reason = timeProblem
        dead.push(deadLetter(s.event, { ...where, reason }))
        reasons.push(`${s.where}: ${reason}`)
      } else events.push(s.event)
    }
    try {
      const receipt = await writer.submit(events, dead)
      metrics.eventsAccepted(mapper.source, events.length)
      metrics.eventsDuplicate(mapper.source, receipt.duplicates)
      metrics.eventsRejected(mapper.source, dead.length)
      return {
        accepted: events.length,
        rejected: dead.length,
        duplicates: receipt.duplicates,
        ignored,
        error_message: partialMessage(reasons),
      }
    } catch (err) {
      metrics.ingestRefused(mapper.source, (err as { code?: string }).code ?? 'error')
      throw err
    }
  }
}

/** "2 spans rejected (dead-lettered; GET /api/dead-letters?source=otlp): <first reason> (+1 more)". */
function partialMessage(reasons: readonly string[]): string {
  if (reasons.length === 0) return ''
  const more = reasons.length > 1 ? ` (+${reasons.length - 1} more)` : ''
  const text = `${reasons.length} span${reasons.length > 1 ? 's' : ''} rejected (dead-lettered; GET /api/dead-letters?source=otlp): ${reasons[0]}${more}`
  return text.length > MESSAGE_MAX ? `${text.slice(0, MESSAGE_MAX - 1)}…` : text
}
