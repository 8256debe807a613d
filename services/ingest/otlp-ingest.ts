import { GatewardenError } from '../../core/errors.js'
import type { OtlpOutcome } from '../../core/ingest/outcome.js'
import { mapOtlpTraces, type OtlpMapperOptions } from '../../core/ingest/otlp/mapper.js'
import { sinkOf, submitItems, type MappedItem, type SourceDeps } from './submit.js'

/** Longest `error_message` of a partial success. */
const MESSAGE_MAX = 1024

/**
 * Maps OTLP export requests (decoded to their JSON shape) and hands the events to the submit step.
 * Spans that are not LLM calls are ignored; LLM spans that cannot be mapped become dead letters and
 * are reported as rejected (OTLP partial success). Resolves once everything is stored (ack = durable);
 * an unreadable request throws GW_BAD_REQUEST.
 */
export function createOtlpIngest(
  deps: SourceDeps<OtlpMapperOptions>,
): (request: unknown, origin: string) => Promise<OtlpOutcome> {
  const { mapper, retentionDays, now = Date.now } = deps
  const sink = sinkOf(deps)
  return async (request, origin) => {
    const mapped = mapOtlpTraces(request, mapper)
    if (!mapped.ok) throw new GatewardenError('GW_BAD_REQUEST', mapped.reason, false)
    const receivedAt = now()
    const items: MappedItem[] = []
    let ignored = 0
    for (const s of mapped.spans) {
      const at = { origin: `${origin} ${s.where}`, where: s.where }
      if (s.kind === 'ignored') ignored++
      else if (s.kind === 'dead') items.push({ at, raw: s.raw, ok: false, reason: s.reason, code: s.code })
      else items.push({ at, raw: s.event, ok: true, event: s.event, truncated: s.truncated })
    }
    const out = await submitItems(sink, items, { receivedAt, retentionDays })
    return {
      accepted: out.accepted,
      rejected: out.rejected,
      duplicates: out.duplicates,
      ignored,
      error_message: partialMessage(out.rejections.map((r) => `${r.where}: ${r.reason}`)),
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
