import type { AnyValue, Int64, KeyValue } from '../../../schemas/otlp-trace.js'

/** An attribute value as JS: OTLP `AnyValue` with its oneof unwrapped. */
export type AttrValue = null | boolean | number | string | AttrValue[] | { [key: string]: AttrValue }

/** Attribute arrays and kvlists nested deeper than this are cut (a bound, not a real-world limit). */
const MAX_VALUE_DEPTH = 16

const toBigInt = (v: Int64): bigint | null => {
  try {
    if (typeof v === 'bigint') return v
    if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : null
    if (typeof v === 'string') return /^\s*-?\d+\s*$/.test(v) ? BigInt(v.trim()) : null
    const low = BigInt(v.low >>> 0)
    const high = BigInt(v.unsigned ? v.high >>> 0 : v.high | 0)
    return (high << 32n) | low
  } catch {
    return null
  }
}

/** A 64-bit integer (string, number, bigint or Long-like) as a JS number; null when unreadable. */
export function int64ToNumber(v: Int64 | null | undefined): number | null {
  if (v === null || v === undefined) return null
  const b = toBigInt(v)
  return b === null ? null : Number(b)
}

/**
 * Epoch nanoseconds (any Int64 form) as epoch milliseconds, rounded to the nearest (as the LiteLLM
 * mapper rounds float seconds, so both sources agree); null when missing, zero or unreadable.
 */
export function nanosToMs(v: Int64 | null | undefined): number | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'number') return v > 0 && Number.isFinite(v) ? Math.round(v / 1e6) : null
  const b = toBigInt(v)
  return b === null || b <= 0n ? null : Number((b + 500_000n) / 1_000_000n)
}

const HEX = /^[0-9a-f]+$/i
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/

/**
 * A trace id (16 bytes) or span id (8 bytes) as lower-case hex, whether it came as hex (OTLP/JSON),
 * base64 (protobuf decoded to strings, or a JSON sender that followed the protobuf JSON mapping) or
 * bytes. Null when missing, of the wrong length, or all zeros (an invalid id per the spec).
 */
export function normalizeId(v: string | Uint8Array | null | undefined, bytes: 8 | 16): string | null {
  if (v === null || v === undefined) return null
  let hex: string
  if (v instanceof Uint8Array) {
    hex = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')
  } else if (v.length === bytes * 2 && HEX.test(v)) {
    hex = v.toLowerCase()
  } else if (BASE64.test(v)) {
    hex = Buffer.from(v, v.includes('-') || v.includes('_') ? 'base64url' : 'base64').toString('hex')
  } else {
    return null
  }
  if (hex.length !== bytes * 2 || /^0+$/.test(hex)) return null
  return hex
}

/** An `AnyValue` as a JS value: ints as numbers, bytes as base64, arrays and kvlists recursively. */
export function anyValue(v: AnyValue | null | undefined, depth = 0): AttrValue {
  if (!v) return null
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue
  if (v.intValue !== undefined && v.intValue !== null) return int64ToNumber(v.intValue)
  if (v.doubleValue !== undefined && v.doubleValue !== null) return Number(v.doubleValue)
  if (v.bytesValue !== undefined && v.bytesValue !== null) {
    return typeof v.bytesValue === 'string' ? v.bytesValue : Buffer.from(v.bytesValue).toString('base64')
  }
  if (depth >= MAX_VALUE_DEPTH) return null
  if (v.arrayValue) return (v.arrayValue.values ?? []).map((x) => anyValue(x, depth + 1))
  if (v.kvlistValue) return attributeRecord(v.kvlistValue.values, depth + 1)
  return null
}

/** Attributes as a plain record; when a key repeats, the first one wins (keys MUST be unique per the spec). */
export function attributeRecord(
  kvs: readonly KeyValue[] | null | undefined,
  depth = 0,
): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {}
  for (const kv of kvs ?? []) {
    if (Object.hasOwn(out, kv.key)) continue
    const value = anyValue(kv.value, depth)
    if (kv.key === '__proto__')
      Object.defineProperty(out, kv.key, { value, enumerable: true, writable: true, configurable: true })
    else out[kv.key] = value
  }
  return out
}
