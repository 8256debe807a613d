import type { DeadLetterCode } from '../../../schemas/dead-letter.js'
import type { KafkaFormat } from '../../../schemas/kafka-config.js'
import { ndjsonItems, type RawItem } from '../ndjson.js'
import { RequestEventInput, withEventDefaults, type RequestEvent } from '../../../schemas/request-event.js'
import type { MapResult } from '../event-result.js'
import { clipLabels } from '../labels.js'
import { mapLiteLLMPayload, type MapperOptions } from '../litellm/mapper.js'

/** One item of a message value: a parsed JSON value, or a part that did not parse. */
export type { RawItem } from '../ndjson.js'

/** What an item turned out to be. */
export type ItemKind = 'litellm' | 'canonical' | 'otlp'

/** Maps one OTLP `ExportTraceServiceRequest` (JSON) to events; non-LLM spans yield nothing. */
export type OtlpMapper = (request: unknown) => MapResult[]

/** What decoding needs besides the bytes. */
export interface KafkaDecodeOptions {
  format: KafkaFormat
  maxMessageBytes: number
  /** LiteLLM mapping (its `source` is the one stamped on every event). */
  mapper: MapperOptions
  /** OTLP mapping; without it OTLP items are rejected with "otlp mapping not available". */
  mapOtlp?: OtlpMapper
}

/** An item (or the whole message, `item` null) that becomes a dead letter. */
export interface KafkaReject {
  item: number | null
  reason: string
  code: DeadLetterCode
  raw: unknown
  /** Real size when `raw` was cut (an oversized message). */
  rawBytes?: number
}

/** A decoded message: its events and its rejects; one bad item never rejects its neighbours. */
export interface DecodedMessage {
  events: RequestEvent[]
  rejects: KafkaReject[]
  /** Items the value was split into (0 when rejected as a whole). */
  items: number
  /** Values cut by the truncation rule (core/ingest/labels.ts), one count per event (same order). */
  truncated: number[]
}

/** Reason of the OTLP rejects while no OTLP mapper is wired. */
export const OTLP_UNAVAILABLE = 'otlp mapping not available'

/** Bytes of an oversized value kept in its dead letter. */
const OVERSIZE_KEEP_BYTES = 4096

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Which kind an item is: `resourceSpans` = OTLP, `event_id` + `source` = canonical, else LiteLLM. */
export function detectItemKind(v: Record<string, unknown>): ItemKind {
  if ('resourceSpans' in v) return 'otlp'
  if ('event_id' in v && 'source' in v) return 'canonical'
  return 'litellm'
}

/**
 * Splits a message value into items: a JSON array (its elements), one JSON value, or NDJSON lines
 * (forced by `ndjson`, else tried when the whole value is not JSON and has several lines).
 * Returns a reason instead when the value as a whole is unreadable.
 */
export function splitMessage(
  text: string,
  ndjson: boolean,
): RawItem[] | { reason: string; code: DeadLetterCode } {
  if (text.trim() === '') return { reason: 'empty message value', code: 'GW_DL_EMPTY' }
  if (ndjson) {
    const items = ndjsonItems(text)
    return items.some((i) => i.ok)
      ? items
      : { reason: 'no line of the NDJSON message is JSON', code: 'GW_DL_NOT_JSON' }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    const items = text.includes('\n') ? ndjsonItems(text) : []
    if (items.length > 1 && items.some((i) => i.ok)) return items
    return { reason: `not JSON: ${(err as Error).message}`, code: 'GW_DL_NOT_JSON' }
  }
  return Array.isArray(parsed)
    ? (parsed as unknown[]).map((value) => ({ ok: true, value }))
    : [{ ok: true, value: parsed }]
}

function canonicalEvent(v: Record<string, unknown>, mapper: MapperOptions): MapResult {
  // the event entered through this source, whatever the producer wrote; long labels are cut, not rejected
  const clipped = clipLabels({ ...v, source: mapper.source })
  const parsed = RequestEventInput.safeParse(clipped.value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return {
      ok: false,
      reason: `invalid canonical event at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      code: 'GW_DL_INVALID',
    }
  }
  const input = { gateway: mapper.gateway, ...parsed.data }
  try {
    return { ok: true, event: withEventDefaults(input), truncated: clipped.truncated }
  } catch (err) {
    const issue = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues?.[0]
    if (!issue) throw err
    return {
      ok: false,
      reason: `invalid canonical event at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
      code: 'GW_DL_INVALID',
    }
  }
}

function mapItem(value: Record<string, unknown>, kind: ItemKind, opts: KafkaDecodeOptions): MapResult[] {
  switch (kind) {
    case 'litellm':
      return [mapLiteLLMPayload(value, opts.mapper)]
    case 'canonical':
      return [canonicalEvent(value, opts.mapper)]
    case 'otlp':
      if (!opts.mapOtlp) return [{ ok: false, reason: OTLP_UNAVAILABLE, code: 'GW_DL_UNSUPPORTED' }]
      if (!Array.isArray(value.resourceSpans))
        return [{ ok: false, reason: 'resourceSpans is not an array', code: 'GW_DL_INVALID' }]
      return opts.mapOtlp(value)
  }
}

/** The item kind a topic format forces, or undefined when items are sniffed. */
function forcedKind(format: KafkaFormat): ItemKind | undefined {
  if (format === 'litellm' || format === 'canonical') return format
  if (format === 'otlp_json') return 'otlp'
  return undefined
}

/**
 * Decodes one Kafka message value into canonical events and rejects. Pure: no I/O, no clock.
 * Rejected as a whole: null/empty value, larger than `maxMessageBytes`, not JSON / NDJSON.
 * Rejected per item: not a JSON object, schema-invalid, wrong kind for a forced format.
 */
export function decodeKafkaValue(value: Buffer | null, opts: KafkaDecodeOptions): DecodedMessage {
  const events: RequestEvent[] = []
  const rejects: KafkaReject[] = []
  if (value === null)
    return {
      events,
      rejects: [{ item: null, reason: 'message has no value (tombstone)', code: 'GW_DL_EMPTY', raw: '' }],
      items: 0,
      truncated: [],
    }
  if (value.length > opts.maxMessageBytes) {
    const reason = `message is ${value.length} bytes, over kafka.max_message_bytes (${opts.maxMessageBytes})`
    return {
      events,
      rejects: [
        {
          item: null,
          reason,
          code: 'GW_DL_TOO_LARGE',
          raw: value.subarray(0, OVERSIZE_KEEP_BYTES).toString('utf8'),
          rawBytes: value.length,
        },
      ],
      items: 0,
      truncated: [],
    }
  }
  const split = splitMessage(value.toString('utf8'), opts.format === 'ndjson')
  if (!Array.isArray(split))
    return {
      events,
      rejects: [{ item: null, reason: split.reason, code: split.code, raw: value.toString('utf8') }],
      items: 0,
      truncated: [],
    }

  const forced = forcedKind(opts.format)
  const truncated: number[] = []
  for (const [i, item] of split.entries()) {
    if (!item.ok) {
      rejects.push({ item: i, reason: item.reason, code: item.code, raw: item.raw })
      continue
    }
    const v = item.value
    if (!isObject(v)) {
      const got = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v
      rejects.push({
        item: i,
        reason: `item is not a JSON object (got ${got})`,
        code: 'GW_DL_NOT_OBJECT',
        raw: v,
      })
      continue
    }
    if (forced === 'otlp' && !('resourceSpans' in v)) {
      rejects.push({
        item: i,
        reason: 'not an OTLP ExportTraceServiceRequest (no resourceSpans)',
        code: 'GW_DL_INVALID',
        raw: v,
      })
      continue
    }
    for (const r of mapItem(v, forced ?? detectItemKind(v), opts)) {
      if (r.ok) {
        events.push(r.event)
        truncated.push(r.truncated)
      } else rejects.push({ item: i, reason: r.reason, code: r.code, raw: v })
    }
  }
  return { events, rejects, items: split.length, truncated }
}
