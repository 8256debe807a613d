import { eventTimeRejection } from '../../core/ingest/event-time.js'
import type { IngestOutcome } from '../../core/ingest/outcome.js'
import { applyTiers, type TierLookup } from '../../core/ingest/tier.js'
import type { Metrics } from '../../adapters/telemetry/metrics.js'
import { deadLetter, type DeadLetter, type DeadLetterCode } from '../../schemas/dead-letter.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { BatchWriter, EventOrigin } from './batch-writer.js'

/** Where an item came from, as its dead letter records it. */
export interface ItemOrigin {
  /** "POST /ingest/litellm <req> item 3", "kafka topic/2@17", "POST /v1/traces <req> resource 0 scope 0 span 1". */
  origin: string
  /** Short name of the item inside its submission, for messages ("item 3", "resource 0 scope 0 span 1"). */
  where: string
  topic?: string
  partition?: number
  offset?: number
}

/** One input item after its source's mapping: an event (with what to dead-letter if its time is refused), or a reject. */
export type MappedItem = { at: ItemOrigin; raw: unknown } & (
  | { ok: true; event: RequestEvent; truncated: number }
  | { ok: false; reason: string; code: DeadLetterCode; rawBytes?: number }
)

/** A submission ready for the writer. */
export interface PreparedBatch {
  events: RequestEvent[]
  deadLetters: DeadLetter[]
  /** Values cut by the truncation rule in `events`. */
  truncated: number
  /** Why each dead-lettered item was refused, in input order. */
  rejections: Array<{ where: string; reason: string }>
  /** Where each event came from (its item's origin, with Kafka topic/partition/offset). */
  originOf: EventOrigin
  /** The same origins as an array aligned with `events` (what crosses a thread: `PortableBatch`). */
  origins: Array<Omit<ItemOrigin, 'where'>>
}

/** A prepared batch that can cross a thread (structured clone): no function, origins aligned with events. */
export type PortableBatch = Omit<PreparedBatch, 'originOf'>

/** A prepared batch back from its portable form (the origins looked up by event again). */
export function fromPortable(batch: PortableBatch): PreparedBatch {
  const origins = new Map(batch.events.map((e, i) => [e, batch.origins[i]!]))
  return { ...batch, originOf: (e) => origins.get(e) ?? { origin: `store event ${e.event_id}` } }
}

/** What the submit step writes to and counts on. */
export interface IngestSink {
  /** The dead letters' `source` and the metrics' `source` label. */
  source: string
  writer: Pick<BatchWriter, 'submit'>
  metrics: Pick<
    Metrics,
    'eventsAccepted' | 'eventsRejected' | 'eventsDuplicate' | 'valuesTruncated' | 'ingestRefused'
  >
  /** Customer tiers set through the API; they win over the payload's tier. */
  tiers?: TierLookup
}

/** What a source's ingest function is built from. */
export interface SourceDeps<M extends { source: string }> {
  writer: IngestSink['writer']
  /** The source's mapper options; its `source` names the dead letters and the metrics. */
  mapper: M
  metrics: IngestSink['metrics']
  tiers?: TierLookup
  retentionDays: number
  now?: () => number
}

/** The sink of a source built from its deps (its mapper's `source` names its dead letters and metrics). */
export function sinkOf<M extends { source: string }>(deps: SourceDeps<M>): IngestSink {
  return { source: deps.mapper.source, writer: deps.writer, metrics: deps.metrics, tiers: deps.tiers }
}

/**
 * The first half of the submit step (pure): the event-time check (`eventTimeRejection`) and the dead
 * letters. A reject, or an event outside the window, becomes a dead letter and never fails its neighbours.
 */
export function prepareBatch(
  items: Iterable<MappedItem>,
  ctx: { source: string; receivedAt: number; retentionDays: number },
): PortableBatch {
  const batch: PortableBatch = { events: [], deadLetters: [], truncated: 0, rejections: [], origins: [] }
  for (const item of items) {
    const { where, ...at } = item.at
    const reason = item.ok
      ? eventTimeRejection(item.event.ts, ctx.receivedAt, ctx.retentionDays)
      : item.reason
    if (item.ok && reason === null) {
      batch.events.push(item.event)
      batch.origins.push(at)
      batch.truncated += item.truncated
      continue
    }
    const code: DeadLetterCode = !item.ok
      ? item.code
      : item.event.ts > ctx.receivedAt
        ? 'GW_DL_FUTURE'
        : 'GW_DL_TOO_OLD'
    const d = deadLetter(item.raw, {
      ...at,
      source: ctx.source,
      received_at: ctx.receivedAt,
      code,
      reason: reason!,
    })
    batch.deadLetters.push(!item.ok && item.rawBytes !== undefined ? { ...d, raw_bytes: item.rawBytes } : d)
    batch.rejections.push({ where, reason: reason! })
  }
  return batch
}

/**
 * The second half: hands the batch to the writer, counts it, and answers. Resolves once the rows are
 * committed (the caller acks after it); a refusal (backpressure, store down) is counted and rethrown.
 */
export async function storeBatch(
  sink: IngestSink,
  batch: {
    events: readonly RequestEvent[]
    deadLetters: readonly DeadLetter[]
    truncated: number
    /** Where each event came from, for the dead letter it becomes if the store refuses it. */
    originOf?: EventOrigin
  },
): Promise<IngestOutcome> {
  const { source, writer, metrics } = sink
  applyTiers(batch.events, sink.tiers)
  try {
    const receipt = await writer.submit(batch.events, batch.deadLetters, batch.originOf)
    // events the store refused (GW_DL_STORE_REJECTED) came back as dead letters
    const refused = receipt.deadLettered - batch.deadLetters.length
    metrics.eventsAccepted(source, batch.events.length - refused)
    metrics.eventsDuplicate(source, receipt.duplicates)
    metrics.eventsRejected(source, receipt.deadLettered)
    if (batch.truncated > 0) metrics.valuesTruncated(source, batch.truncated)
    return {
      accepted: batch.events.length - receipt.duplicates - refused,
      rejected: receipt.deadLettered,
      duplicates: receipt.duplicates,
    }
  } catch (err) {
    metrics.ingestRefused(source, (err as { code?: string }).code ?? 'error')
    throw err
  }
}

/**
 * The one submit step of every source: mapped items -> event-time check -> dead letters ->
 * `writer.submit` -> metrics -> outcome. The rejections come back too (the OTLP answer names them).
 */
export async function submitItems(
  sink: IngestSink,
  items: Iterable<MappedItem>,
  ctx: { receivedAt: number; retentionDays: number },
): Promise<IngestOutcome & { rejections: PreparedBatch['rejections'] }> {
  const batch = fromPortable(prepareBatch(items, { ...ctx, source: sink.source }))
  return { ...(await storeBatch(sink, batch)), rejections: batch.rejections }
}
