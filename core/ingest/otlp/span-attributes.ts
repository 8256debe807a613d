import type { AttrValue } from './values.js'
import { looksLikeContainer, parsePythonLiteral } from '../litellm/python-literal.js'

const isRecord = (v: unknown): v is Record<string, AttrValue> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const own = (o: object, k: string) => Object.hasOwn(o, k)

/** A string that holds a dict/list (Python repr or JSON) as its parsed value; anything else as is. */
export function unpack(v: AttrValue | undefined): AttrValue | undefined {
  if (typeof v !== 'string' || !looksLikeContainer(v)) return v
  const r = parsePythonLiteral(v)
  return r.ok ? r.value : v
}

/** A scalar as trimmed text ('' for null, booleans, containers and non-finite numbers), as `readPath` does. */
export function scalarText(v: AttrValue | undefined): string {
  if (typeof v === 'string') return v.trim()
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  return ''
}

/**
 * Read access to one span's (or resource's) attributes. Keys are flat (`gen_ai.request.model`);
 * `path()` also walks into values that hold a dict, so `metadata.spend_logs_metadata.customer` reads
 * the `metadata.spend_logs_metadata` attribute (a Python repr or JSON string) and takes `customer`.
 * Parsed values are cached per key.
 */
export class SpanAttributes {
  #parsed: Map<string, AttrValue | undefined> | undefined
  #paths: Map<string, AttrValue | undefined> | undefined

  constructor(readonly record: Readonly<Record<string, AttrValue>>) {}

  /** The raw value of `key`, undefined when absent. */
  get(key: string): AttrValue | undefined {
    return own(this.record, key) ? this.record[key] : undefined
  }

  /** True when `key` is present with a non-empty value. */
  has(key: string): boolean {
    const v = this.get(key)
    return v !== undefined && v !== null && v !== ''
  }

  /** The value of `key` with a dict/list string parsed. */
  structured(key: string): AttrValue | undefined {
    this.#parsed ??= new Map()
    if (!this.#parsed.has(key)) this.#parsed.set(key, unpack(this.get(key)))
    return this.#parsed.get(key)
  }

  /** The value at `path`: an exact key, else the longest key prefixing it walked into; undefined when absent. */
  path(path: string): AttrValue | undefined {
    if (own(this.record, path)) return this.record[path]
    if (this.#paths?.has(path)) return this.#paths.get(path)
    let hit: AttrValue | undefined
    for (let i = path.lastIndexOf('.'); i > 0; i = path.lastIndexOf('.', i - 1)) {
      const key = path.slice(0, i)
      if (!own(this.record, key)) continue
      hit = walk(this.structured(key), path.slice(i + 1).split('.'))
      if (hit !== undefined) break
    }
    ;(this.#paths ??= new Map()).set(path, hit)
    return hit
  }

  /** The exact key `key` as trimmed text ('' when absent or not a scalar); no walking into values. */
  scalar(key: string): string {
    return own(this.record, key) ? scalarText(this.record[key]) : ''
  }

  /** True when some key starts with one of `prefixes` (a cheap pre-filter before looking keys up one by one). */
  hasKeyPrefix(prefixes: readonly string[]): boolean {
    for (const k in this.record) if (prefixes.some((p) => k.startsWith(p))) return true
    return false
  }

  /** `path()` as trimmed text; '' when absent or not a scalar. */
  text(path: string): string {
    return scalarText(this.path(path))
  }
}

function walk(root: AttrValue | undefined, segs: readonly string[]): AttrValue | undefined {
  let node = root
  for (let i = 0; i < segs.length; i++) {
    node = unpack(node)
    if (!isRecord(node)) return undefined
    const rest = segs.slice(i).join('.')
    if (own(node, rest)) return node[rest] // a key that itself contains dots
    if (!own(node, segs[i]!)) return undefined
    node = node[segs[i]!]
  }
  return node
}
