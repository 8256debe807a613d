import type { RequestEvent } from '../../schemas/request-event.js'

/**
 * ClickHouse's RowBinary format, written from JS for the columns of `requests`
 * (https://clickhouse.com/docs/interfaces/formats/RowBinary). The engine reads it about seven times faster
 * than JSONEachRow (measured on chdb 3.4: ~140k vs ~20k rows/s of the same 35-column events into the
 * table with both rollup views), and encoding it costs JS less than JSON.stringify.
 */
export class RowBinaryWriter {
  #buf: Buffer
  #pos = 0

  constructor(initialBytes = 1 << 16) {
    this.#buf = Buffer.allocUnsafe(initialBytes)
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos
  }

  /** The bytes written (a view, valid until the next write). */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#pos)
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return
    let size = this.#buf.length * 2
    while (size < this.#pos + n) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.#buf.copy(next, 0, 0, this.#pos)
    this.#buf = next
  }

  /** LEB128 unsigned (lengths of strings, arrays and maps). */
  varUInt(n: number): void {
    this.#room(10)
    while (n >= 0x80) {
      this.#buf[this.#pos++] = (n & 0x7f) | 0x80
      n = Math.floor(n / 128)
    }
    this.#buf[this.#pos++] = n
  }

  /** String: its UTF-8 length, then the bytes. */
  string(s: string): void {
    const len = s.length
    // room for the bytes and the longest length prefix, so neither write below reallocates
    this.#room(len * 3 + 10)
    const buf = this.#buf
    if (len < 128) {
      // short ASCII (most labels): bytes copied in JS, no native call; anything else takes buf.write
      const at = this.#pos
      let i = 0
      for (; i < len; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[at + 1 + i] = c
      }
      if (i === len) {
        buf[at] = len
        this.#pos = at + 1 + len
        return
      }
    }
    const n = Buffer.byteLength(s, 'utf8')
    this.varUInt(n)
    this.#pos += buf.write(s, this.#pos, 'utf8')
  }

  uint8(n: number): void {
    this.#room(1)
    this.#buf[this.#pos++] = n
  }

  uint16(n: number): void {
    this.#room(2)
    this.#buf.writeUInt16LE(n, this.#pos)
    this.#pos += 2
  }

  uint32(n: number): void {
    this.#room(4)
    this.#buf.writeUInt32LE(n, this.#pos)
    this.#pos += 4
  }

  uint64(n: bigint): void {
    this.#room(8)
    this.#buf.writeBigUInt64LE(n, this.#pos)
    this.#pos += 8
  }

  /** A 64-bit integer that is a non-negative safe JS integer (epoch ms, scaled decimals). */
  int64(n: number): void {
    this.#room(8)
    this.#buf.writeUInt32LE(n % 0x1_0000_0000, this.#pos)
    this.#buf.writeUInt32LE(Math.floor(n / 0x1_0000_0000), this.#pos + 4)
    this.#pos += 8
  }
}

/** Decimal places of `cost_usd Decimal(18, 10)`. */
export const COST_SCALE = 10

/**
 * The `requests` columns RowBinary rows carry, in order, with their types (the `structure` the engine
 * reads the rows with). `received_at` is left to its DEFAULT.
 */
export const REQUEST_ROW_COLUMNS: ReadonlyArray<readonly [keyof RequestEvent, string]> = [
  ['event_id', 'String'],
  ['ts', "DateTime64(3, 'UTC')"],
  ['end_ts', "DateTime64(3, 'UTC')"],
  ['duration_ms', 'UInt32'],
  ['ttft_ms', 'Nullable(UInt32)'],
  ['source', 'String'],
  ['gateway', 'String'],
  ['customer', 'String'],
  ['team', 'String'],
  ['team_alias', 'String'],
  ['user', 'String'],
  ['api_key_hash', 'String'],
  ['api_key_alias', 'String'],
  ['endpoint', 'String'],
  ['agent', 'String'],
  ['tier', 'String'],
  ['trace_id', 'String'],
  ['session_id', 'String'],
  ['provider', 'String'],
  ['call_type', 'String'],
  ['model_requested', 'String'],
  ['model', 'String'],
  ['input_tokens', 'UInt32'],
  ['output_tokens', 'UInt32'],
  ['cached_tokens', 'UInt32'],
  ['cost_usd', 'Decimal(18, 10)'],
  ['cache_hit', 'Bool'],
  ['status', "Enum8('success' = 1, 'failure' = 2)"],
  ['error_type', 'String'],
  ['http_status', 'UInt16'],
  ['fingerprint', 'String'],
  ['tags', 'Array(String)'],
  ['metadata', 'Map(String, String)'],
  ['request_text', 'String'],
  ['response_text', 'String'],
]

/**
 * A non-negative number as the integer of a Decimal with `scale` places, exactly as the engine reads the
 * number's JSON text (its shortest decimal form, digits past `scale` cut off): the JSON insert this replaced
 * stored the same values, to the last unit.
 */
export function decimalUnits(x: number, scale = COST_SCALE): bigint {
  const s = String(x)
  const e = s.indexOf('e')
  const mantissa = e === -1 ? s : s.slice(0, e)
  const dot = mantissa.indexOf('.')
  const digits = dot === -1 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1)
  const point = (dot === -1 ? mantissa.length : dot) + (e === -1 ? 0 : Number(s.slice(e + 1)))
  const whole = point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0')
  const frac = (point < 0 ? '0'.repeat(-point) + digits : digits.slice(Math.max(point, 0)))
    .slice(0, scale)
    .padEnd(scale, '0')
  return BigInt(whole + frac)
}

/** Appends one event as a RowBinary row of REQUEST_ROW_COLUMNS. The event is a valid RequestEvent. */
export function writeRequestRow(w: RowBinaryWriter, e: RequestEvent): void {
  w.string(e.event_id)
  w.int64(e.ts)
  w.int64(e.end_ts)
  w.uint32(e.duration_ms)
  if (e.ttft_ms === null) w.uint8(1)
  else {
    w.uint8(0)
    w.uint32(e.ttft_ms)
  }
  w.string(e.source)
  w.string(e.gateway)
  w.string(e.customer)
  w.string(e.team)
  w.string(e.team_alias)
  w.string(e.user)
  w.string(e.api_key_hash)
  w.string(e.api_key_alias)
  w.string(e.endpoint)
  w.string(e.agent)
  w.string(e.tier)
  w.string(e.trace_id)
  w.string(e.session_id)
  w.string(e.provider)
  w.string(e.call_type)
  w.string(e.model_requested)
  w.string(e.model)
  w.uint32(e.input_tokens)
  w.uint32(e.output_tokens)
  w.uint32(e.cached_tokens)
  w.uint64(decimalUnits(e.cost_usd))
  w.uint8(e.cache_hit ? 1 : 0)
  w.uint8(e.status === 'failure' ? 2 : 1)
  w.string(e.error_type)
  w.uint16(e.http_status)
  w.string(e.fingerprint)
  w.varUInt(e.tags.length)
  for (const t of e.tags) w.string(t)
  const entries = Object.entries(e.metadata)
  w.varUInt(entries.length)
  for (const [k, v] of entries) {
    w.string(k)
    w.string(v)
  }
  w.string(e.request_text)
  w.string(e.response_text)
}

/** The rows as one RowBinary payload. */
export function requestRows(rows: readonly RequestEvent[]): Buffer {
  const w = new RowBinaryWriter(rows.length * 1024 + 1024)
  for (const e of rows) writeRequestRow(w, e)
  return w.bytes()
}
