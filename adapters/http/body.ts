import { gunzipSync, inflateSync } from 'node:zlib'
import { ndjsonItems, type RawItem } from '../../core/ingest/ndjson.js'
import { GatewardenError } from '../../core/errors.js'

export type { RawItem } from '../../core/ingest/ndjson.js'

const NDJSON_TYPES = /^application\/(x-)?(nd|jsonl|json-?lines|jsonlines)/i

/** Undoes `Content-Encoding` (gzip, deflate), never inflating past `limit` bytes (a zip bomb gets 413). */
export function decodeBody(body: Buffer, encoding: string | undefined, limit: number): Buffer {
  const enc = (encoding ?? 'identity').trim().toLowerCase()
  if (enc === 'identity' || enc === '') return body
  try {
    if (enc === 'gzip' || enc === 'x-gzip') return gunzipSync(body, { maxOutputLength: limit })
    if (enc === 'deflate') return inflateSync(body, { maxOutputLength: limit })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new GatewardenError('GW_BODY_TOO_LARGE', `decoded body exceeds ${limit} bytes`, false)
    }
    throw new GatewardenError(
      'GW_BAD_REQUEST',
      `body is not valid ${enc}: ${(err as Error).message}`,
      false,
      { cause: err },
    )
  }
  throw new GatewardenError('GW_UNSUPPORTED_MEDIA_TYPE', `unsupported Content-Encoding: ${enc}`, false)
}

/**
 * Splits a LiteLLM `generic_api` body into items: a JSON array (log_format json_array), one JSON object
 * (single), or NDJSON (ndjson, by Content-Type or, when the whole body is not JSON, by sniffing lines).
 * A body that is none of these throws GW_BAD_REQUEST (HTTP 400); a bad NDJSON line is only that item's problem.
 */
export function splitIngestBody(body: Buffer, contentType: string | undefined): RawItem[] {
  const text = body.toString('utf8')
  if (NDJSON_TYPES.test(contentType ?? '')) return ndjsonItems(text)
  if (text.trim() === '')
    throw new GatewardenError('GW_BAD_REQUEST', 'empty body: expected JSON array, object or NDJSON', false)
  let parsed: unknown
  try {
    parsed = JSON.parse(text) as unknown
  } catch (err) {
    const lines = text.split('\n').filter((l) => l.trim() !== '')
    if (lines.length > 1) {
      const items = ndjsonItems(text)
      if (items[0]?.ok) return items
    }
    throw new GatewardenError('GW_BAD_REQUEST', `body is not valid JSON: ${(err as Error).message}`, false, {
      cause: err,
    })
  }
  if (Array.isArray(parsed)) return (parsed as unknown[]).map((value) => ({ ok: true, value }))
  if (parsed !== null && typeof parsed === 'object') return [{ ok: true, value: parsed }]
  throw new GatewardenError(
    'GW_BAD_REQUEST',
    `expected a JSON array of objects, an object, or NDJSON; got ${parsed === null ? 'null' : typeof parsed}`,
    false,
  )
}
