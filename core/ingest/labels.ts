import type { RequestEvent } from '../../schemas/request-event.js'

/**
 * The one truncation rule of every ingest path (LiteLLM, OTLP, Kafka): a label value longer than its
 * limit is cut to the limit, its last character replaced by TRUNCATION_MARKER, and counted. A long
 * value never dead-letters its event (only what cannot be counted does: no id, no time, no number).
 */

/** Longest text label kept (customer, team, agent, endpoint, model, error type, each tag...), in characters. */
export const LABEL_MAX_CHARS = 1024
/** Longest metadata key kept, in characters. */
export const METADATA_KEY_MAX_CHARS = 256
/** Longest metadata value kept, in characters. */
export const METADATA_VALUE_MAX_CHARS = 4096
/** Tags kept per event; the rest are dropped (counted as one truncation). */
export const MAX_TAGS = 64
/** Metadata entries copied per event; later ones are not copied. */
export const MAX_METADATA_KEYS = 64
/** Ends every cut value, so a truncated label is told apart from a real one. */
export const TRUNCATION_MARKER = '…'

/** Metadata keys never copied into an event (they may carry credentials). */
export const SECRET_KEY = /(authorization|api[_-]?key|secret|token|password|cookie)/i

/** The text fields of `RequestEvent` the rule applies to (`event_id` is identity: never cut). */
export const LABEL_FIELDS = [
  'gateway',
  'customer',
  'team',
  'team_alias',
  'user',
  'api_key_hash',
  'api_key_alias',
  'endpoint',
  'agent',
  'tier',
  'trace_id',
  'session_id',
  'provider',
  'call_type',
  'model_requested',
  'model',
  'error_type',
] as const satisfies ReadonlyArray<keyof RequestEvent>

/** `s` cut to `max` characters ending with the marker (a surrogate pair is never split); `s` when it fits. */
export function clipText(s: string, max: number): string {
  if (s.length <= max) return s
  let end = max - TRUNCATION_MARKER.length
  const code = s.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end-- // high surrogate: keep the pair whole
  return s.slice(0, end) + TRUNCATION_MARKER
}

const tooLong = (v: unknown, max: number): boolean => typeof v === 'string' && v.length > max

/** True when `clipLabels` would cut nothing in `candidate` (the usual case: it is then returned as is). */
function fitsLabels(candidate: Record<string, unknown>): boolean {
  for (const f of LABEL_FIELDS) if (tooLong(candidate[f], LABEL_MAX_CHARS)) return false
  const tags = candidate.tags
  if (Array.isArray(tags)) {
    if (tags.length > MAX_TAGS) return false
    for (const t of tags) if (tooLong(t, LABEL_MAX_CHARS)) return false
  }
  const md = candidate.metadata
  if (md !== null && typeof md === 'object') {
    if (Array.isArray(md)) return true
    for (const k in md) {
      if (!Object.hasOwn(md, k)) continue
      if (k.length > METADATA_KEY_MAX_CHARS) return false
      if (tooLong((md as Record<string, unknown>)[k], METADATA_VALUE_MAX_CHARS)) return false
    }
  }
  return true
}

/**
 * Applies the rule to an event candidate (before schema validation): every label field, each tag, the
 * tag count, metadata keys and values. Non-string values are left for the schema to judge.
 * Returns how many values were cut and the candidate itself when none was (checked first: copying
 * every event's metadata was most of this step's time), else a shallow copy with the cut values.
 */
export function clipLabels<T extends Record<string, unknown>>(candidate: T): { value: T; truncated: number } {
  if (fitsLabels(candidate)) return { value: candidate, truncated: 0 }
  let truncated = 0
  const clip = (v: unknown, max: number): unknown => {
    if (!tooLong(v, max)) return v
    truncated++
    return clipText(v as string, max)
  }
  const out: Record<string, unknown> = { ...candidate }
  for (const f of LABEL_FIELDS) if (f in out) out[f] = clip(out[f], LABEL_MAX_CHARS)
  if (Array.isArray(out.tags)) {
    const tags = out.tags as unknown[]
    if (tags.length > MAX_TAGS) truncated++
    out.tags = tags.slice(0, MAX_TAGS).map((t) => clip(t, LABEL_MAX_CHARS))
  }
  const md = out.metadata
  if (md !== null && typeof md === 'object' && !Array.isArray(md)) {
    const clipped: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(md)) {
      const key = clip(k, METADATA_KEY_MAX_CHARS) as string
      if (!Object.hasOwn(clipped, key)) clipped[key] = clip(v, METADATA_VALUE_MAX_CHARS)
    }
    out.metadata = clipped
  }
  return { value: out as T, truncated }
}

/**
 * Builds an event's metadata map, the same way on every path: first value of a key wins (put the
 * facts Gatewarden derives before the sender's free-form entries), secret-looking keys and empty
 * values are skipped, non-strings are JSON, at most MAX_METADATA_KEYS entries. Lengths are cut later by
 * `clipLabels`, which counts them.
 */
export class MetadataBuilder {
  readonly #out: Record<string, string> = {}
  #size = 0

  /** Adds `key` unless it is secret-looking, already set, empty, or the map is full. */
  put(key: string, value: unknown): this {
    if (this.#size >= MAX_METADATA_KEYS || SECRET_KEY.test(key) || Object.hasOwn(this.#out, key)) return this
    const s =
      typeof value === 'string' ? value : value === null || value === undefined ? '' : JSON.stringify(value)
    if (s === '') return this
    this.#out[key] = s
    this.#size++
    return this
  }

  /** Adds every entry of `record` (ignored when not a plain object). */
  putAll(record: unknown): this {
    if (record !== null && typeof record === 'object' && !Array.isArray(record))
      for (const [k, v] of Object.entries(record)) this.put(k, v)
    return this
  }

  /** The map built so far. */
  build(): Record<string, string> {
    return { ...this.#out }
  }
}

/** The value of the first tag `NAME:value` (an attribution path `tag:NAME`), trimmed; '' when none. */
export function tagValue(tags: readonly string[], name: string): string {
  const prefix = `${name}:`
  const hit = tags.find((t) => t.startsWith(prefix) && t.length > prefix.length)
  return hit ? hit.slice(prefix.length).trim() : ''
}
