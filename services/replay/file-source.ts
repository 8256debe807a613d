import { createReadStream, readFileSync, statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { createGunzip, gunzipSync } from 'node:zlib'
import { GatewardenError } from '../../core/errors.js'
import { mapLiteLLMPayload, type MapperOptions } from '../../core/ingest/litellm/mapper.js'
import type { RequestEvent } from '../../schemas/request-event.js'

/** One item of the file that did not become an event (unparseable line, payload the mapper rejects). */
export interface InvalidItem {
  /** 1-based line of the file (for a pretty-printed JSON array: 0, see `item`). */
  line: number
  /** 0-based index inside a JSON array (the whole file, or one NDJSON line holding an array). */
  item?: number
  reason: string
}

/** Counters of a file read, updated as events are yielded (the progress bar reads them). */
export interface FileReadStats {
  format: 'ndjson' | 'json'
  /** Size of the file on disk (compressed size for .gz): the progress bar's total. */
  totalBytes: number
  /** Bytes of the file read so far (compressed bytes for .gz). */
  bytesRead: number
  /** Payloads seen (valid or not). */
  items: number
  invalid: number
  /** The first `MAX_INVALID_SAMPLES` invalid items, in file order. */
  invalidSamples: InvalidItem[]
  /** Payloads whose event_id was already seen (LiteLLM retries): skipped, as the store would count them once. */
  duplicates: number
}

/** How many invalid items are kept with their reason (all are counted). */
export const MAX_INVALID_SAMPLES = 100

/**
 * Event ids are remembered this long in event time for the duplicate check: a retried payload carries
 * its original start time, so its twin is never far from it. Keeps memory bounded on huge files.
 */
const DEDUPE_HORIZON_MS = 24 * 3_600_000
const DEDUPE_PRUNE_EVERY = 100_000

/** Drops repeated event ids (the store keeps one row per id; replay must count like it). */
class Deduper {
  private seen = new Map<string, number>()
  private maxTs = -Infinity
  private added = 0

  /** True the first time an id is offered. */
  first(e: RequestEvent): boolean {
    if (this.seen.has(e.event_id)) return false
    this.seen.set(e.event_id, e.ts)
    this.maxTs = Math.max(this.maxTs, e.ts)
    if (++this.added % DEDUPE_PRUNE_EVERY === 0) {
      const horizon = this.maxTs - DEDUPE_HORIZON_MS
      for (const [id, ts] of this.seen) if (ts < horizon) this.seen.delete(id)
    }
    return true
  }
}

function newStats(path: string): FileReadStats {
  return {
    format: 'ndjson',
    totalBytes: statSync(path).size,
    bytesRead: 0,
    items: 0,
    invalid: 0,
    invalidSamples: [],
    duplicates: 0,
  }
}

const isGzip = (path: string): boolean => /\.gz$/i.test(path)

/**
 * Reads a file of LiteLLM `StandardLoggingPayload`s and yields them mapped to canonical events with the
 * same mapper (and attribution/privacy config) as live ingest. Formats: NDJSON (one payload per line,
 * or one JSON array of payloads per line, as LiteLLM's generic logger batches them), or one JSON array
 * (pretty-printed or not); gzip when the name ends in `.gz`. Invalid lines and rejected payloads are
 * counted in `stats` with their reason, never fatal. Only an unreadable file throws (GW_BAD_REQUEST).
 */
export function fileEvents(
  path: string,
  mapper: MapperOptions,
  prepareLines?: LinesPreparer,
): { stats: FileReadStats; events: AsyncGenerator<RequestEvent> } {
  let stats: FileReadStats
  try {
    stats = newStats(path)
  } catch (err) {
    throw new GatewardenError('GW_BAD_REQUEST', `cannot read ${path}: ${(err as Error).message}`, false, {
      cause: err,
    })
  }
  return { stats, events: readAll(path, mapper, stats, prepareLines) }
}

/** NDJSON lines mapped: events and invalid items in file order, and how many payloads they held. */
export interface LinesBatch {
  events: RequestEvent[]
  items: number
  invalid: InvalidItem[]
}

/** Maps a run of NDJSON lines (`first`: the 1-based line number of `lines[0]`): on a parse worker or inline. */
export type LinesPreparer = (lines: string[], first: number) => Promise<LinesBatch>

/**
 * Parses and maps NDJSON lines, each a payload or a JSON array of them, with the live mapper; a line
 * that is not JSON or a payload the mapper rejects is an invalid item with its reason. Pure: runs on a
 * parse worker (services/ingest/parse-pool.ts `prepareLines`) or inline.
 */
export function mapPayloadLines(lines: readonly string[], first: number, mapper: MapperOptions): LinesBatch {
  const out: LinesBatch = { events: [], items: 0, invalid: [] }
  const take = (raw: unknown, line: number, item?: number) => {
    out.items++
    const mapped = mapLiteLLMPayload(raw, mapper)
    if (mapped.ok) out.events.push(mapped.event)
    else out.invalid.push({ line, ...(item === undefined ? {} : { item }), reason: mapped.reason })
  }
  for (let k = 0; k < lines.length; k++) {
    const line = first + k
    const trimmed = lines[k]!.trim()
    if (trimmed === '') continue
    let value: unknown
    try {
      value = JSON.parse(trimmed)
    } catch (err) {
      out.items++
      out.invalid.push({ line, reason: `not JSON: ${(err as Error).message}` })
      continue
    }
    if (Array.isArray(value)) for (let i = 0; i < value.length; i++) take(value[i], line, i)
    else take(value, line)
  }
  return out
}

/** Lines per batch handed to `prepareLines`, and batches in flight while the detectors run. */
const LINES_PER_BATCH = 256
const BATCHES_IN_FLIGHT = 3

async function* readAll(
  path: string,
  mapper: MapperOptions,
  stats: FileReadStats,
  prepareLines?: LinesPreparer,
): AsyncGenerator<RequestEvent> {
  const dedupe = new Deduper()
  const take = function* (raw: unknown, line: number, item?: number): Generator<RequestEvent> {
    stats.items++
    const mapped = mapLiteLLMPayload(raw, mapper)
    if (!mapped.ok) invalid(stats, { line, ...(item === undefined ? {} : { item }), reason: mapped.reason })
    else if (!dedupe.first(mapped.event)) stats.duplicates++
    else yield mapped.event
  }
  // batches of lines mapped in file order: on the parse workers while this thread runs the detectors
  const prepare: LinesPreparer =
    prepareLines ?? ((lines, first) => Promise.resolve(mapPayloadLines(lines, first, mapper)))
  const inFlight: Array<Promise<LinesBatch>> = []
  const settle = function* (batch: LinesBatch): Generator<RequestEvent> {
    stats.items += batch.items
    for (const item of batch.invalid) invalid(stats, item)
    for (const e of batch.events) {
      if (!dedupe.first(e)) stats.duplicates++
      else yield e
    }
  }

  const raw = createReadStream(path)
  raw.on('data', (chunk) => (stats.bytesRead += chunk.length))
  const input = isGzip(path) ? raw.pipe(createGunzip()) : raw
  raw.on('error', (err) => input.destroy(err))
  const lines = createInterface({ input, crlfDelay: Infinity })
  let n = 0
  let firstContent = true
  let pending: string[] = []
  let pendingFirst = 0
  try {
    for await (const text of lines) {
      n++
      if (firstContent) {
        const trimmed = text.trim()
        if (trimmed === '') continue
        firstContent = false
        // a pretty-printed JSON array: its first line is `[` (or `[{`), which is no JSON on its own; any
        // other first line is mapped with the rest (an NDJSON line may hold an array too)
        if (trimmed.startsWith('[') && !isJson(trimmed)) {
          lines.close()
          raw.destroy()
          yield* wholeArray(path, stats, take)
          return
        }
      }
      if (pending.length === 0) pendingFirst = n
      pending.push(text)
      if (pending.length < LINES_PER_BATCH) continue
      inFlight.push(prepare(pending, pendingFirst))
      pending = []
      if (inFlight.length >= BATCHES_IN_FLIGHT) yield* settle(await inFlight.shift()!)
    }
    if (pending.length > 0) inFlight.push(prepare(pending, pendingFirst))
    while (inFlight.length > 0) yield* settle(await inFlight.shift()!)
  } catch (err) {
    throw new GatewardenError('GW_BAD_REQUEST', `cannot read ${path}: ${(err as Error).message}`, false, {
      cause: err,
    })
  } finally {
    // a consumer that stops early, or a read error: batches still in flight are not awaited, nor left to
    // reject unhandled
    for (const p of inFlight) p.catch(() => undefined)
  }
  stats.bytesRead = stats.totalBytes
}

/** The whole file as one JSON array (already known not to be NDJSON); a file that is neither throws. */
function* wholeArray(
  path: string,
  stats: FileReadStats,
  take: (raw: unknown, line: number, item?: number) => Generator<RequestEvent>,
): Generator<RequestEvent> {
  stats.format = 'json'
  const bytes = readFileSync(path)
  let doc: unknown
  try {
    doc = JSON.parse((isGzip(path) ? gunzipSync(bytes) : bytes).toString('utf8'))
  } catch (err) {
    throw new GatewardenError(
      'GW_BAD_REQUEST',
      `${path} is neither NDJSON nor a JSON array of LiteLLM payloads: ${(err as Error).message}`,
      false,
      { cause: err },
    )
  }
  stats.bytesRead = stats.totalBytes
  if (!Array.isArray(doc))
    throw new GatewardenError('GW_BAD_REQUEST', `${path}: expected a JSON array of LiteLLM payloads`, false)
  for (let i = 0; i < doc.length; i++) yield* take(doc[i], 0, i)
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

function invalid(stats: FileReadStats, item: InvalidItem): void {
  stats.invalid++
  if (stats.invalidSamples.length < MAX_INVALID_SAMPLES) stats.invalidSamples.push(item)
}
