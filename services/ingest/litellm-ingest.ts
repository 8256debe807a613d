import type { IngestOutcome } from '../../core/ingest/outcome.js'
import { mapLiteLLMPayload, type MapperOptions } from '../../core/ingest/litellm/mapper.js'
import type { RawItem } from '../../core/ingest/ndjson.js'
import { decodeBody, splitIngestBody } from '../../adapters/http/body.js'
import {
  fromPortable,
  prepareBatch,
  sinkOf,
  storeBatch,
  type MappedItem,
  type PortableBatch,
  type SourceDeps,
} from './submit.js'

/** A `POST /ingest/litellm` body as it arrived. */
export interface LiteLLMBody {
  bytes: Uint8Array
  contentType?: string
  contentEncoding?: string
}

/** What preparing a body needs besides the body and the mapper. */
export interface BodyContext {
  /** "POST /ingest/litellm <req>": each item's origin is this plus "item i". */
  origin: string
  receivedAt: number
  retentionDays: number
  /** Largest decoded body (Content-Encoding undone) accepted; past it GW_BODY_TOO_LARGE (413). */
  bodyLimitBytes: number
}

/** Maps split items (invalid ones become rejects with their code) for the submit step. */
export function mapLiteLLMItems(items: RawItem[], origin: string, mapper: MapperOptions): MappedItem[] {
  return items.map((item, i): MappedItem => {
    const at = { origin: `${origin} item ${i}`, where: `item ${i}` }
    if (!item.ok) return { at, raw: item.raw, ok: false, reason: item.reason, code: item.code }
    return { at, raw: item.value, ...mapLiteLLMPayload(item.value, mapper) }
  })
}

/**
 * Everything a LiteLLM body goes through before the writer, pure and thread-safe: Content-Encoding undone,
 * split (array, object, NDJSON), each payload mapped, the event-time check and the dead letters. Throws a
 * GatewardenError (400/413/415) for a body that is not one. Runs on a parse worker (parse-pool.ts) or inline.
 */
export function prepareLiteLLMBody(
  body: LiteLLMBody,
  ctx: BodyContext,
  mapper: MapperOptions,
): PortableBatch {
  const bytes = Buffer.from(body.bytes.buffer, body.bytes.byteOffset, body.bytes.byteLength)
  const items = splitIngestBody(decodeBody(bytes, body.contentEncoding, ctx.bodyLimitBytes), body.contentType)
  return prepareBatch(mapLiteLLMItems(items, ctx.origin, mapper), {
    source: mapper.source,
    receivedAt: ctx.receivedAt,
    retentionDays: ctx.retentionDays,
  })
}

/** Where bodies are prepared: a pool of parse workers, or this thread. */
export type BodyPreparer = (body: LiteLLMBody, ctx: BodyContext) => Promise<PortableBatch>

/**
 * The LiteLLM generic_api source: each body prepared (on a parse worker when `prepare` is given), then the
 * submit step. Invalid items become dead letters and never reject their valid neighbours. Resolves once
 * everything is stored (the caller acks after it).
 */
export function createLiteLLMIngest(
  deps: SourceDeps<MapperOptions> & { bodyLimitBytes: number; prepare?: BodyPreparer },
): (body: LiteLLMBody, origin: string) => Promise<IngestOutcome> {
  const { mapper, retentionDays, bodyLimitBytes, now = Date.now } = deps
  const prepare: BodyPreparer =
    deps.prepare ?? ((body, ctx) => new Promise((resolve) => resolve(prepareLiteLLMBody(body, ctx, mapper))))
  const sink = sinkOf(deps)
  return async (body, origin) => {
    const batch = await prepare(body, { origin, receivedAt: now(), retentionDays, bodyLimitBytes })
    const { accepted, rejected, duplicates } = await storeBatch(sink, fromPortable(batch))
    return { accepted, rejected, duplicates }
  }
}
