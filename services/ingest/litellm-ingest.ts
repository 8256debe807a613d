import type { RawItem } from '../../core/ingest/ndjson.js'
import type { IngestOutcome } from '../../core/ingest/outcome.js'
import { mapLiteLLMPayload, type MapperOptions } from '../../core/ingest/litellm/mapper.js'
import { sinkOf, submitItems, type MappedItem, type SourceDeps } from './submit.js'

/**
 * Maps LiteLLM payloads and hands them to the submit step. Invalid items become dead letters and never
 * reject their valid neighbours. Resolves once everything is stored (the caller acks after it).
 */
export function createLiteLLMIngest(
  deps: SourceDeps<MapperOptions>,
): (items: RawItem[], origin: string) => Promise<IngestOutcome> {
  const { mapper, retentionDays, now = Date.now } = deps
  const sink = sinkOf(deps)
  return async (items, origin) => {
    const receivedAt = now()
    const mapped = items.map((item, i): MappedItem => {
      const at = { origin: `${origin} item ${i}`, where: `item ${i}` }
      if (!item.ok) return { at, raw: item.raw, ok: false, reason: item.reason, code: item.code }
      return { at, raw: item.value, ...mapLiteLLMPayload(item.value, mapper) }
    })
    const { accepted, rejected, duplicates } = await submitItems(sink, mapped, { receivedAt, retentionDays })
    return { accepted, rejected, duplicates }
  }
}
