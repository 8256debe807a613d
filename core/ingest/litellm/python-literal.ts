/**
 * A safe reader for Python literal reprs, as LiteLLM's `otel` callback writes non-scalar metadata
 * (`str(value)`): `{'customer': 'acme', 'n': 1, 'ok': True, 'x': None}`. Nothing is evaluated.
 * Accepts dicts, lists, tuples and sets (both as arrays), str and bytes literals with their escapes,
 * ints, floats, `inf`/`nan`, None/True/False, and JSON's null/true/false (so JSON parses too).
 * Anything else (`datetime.datetime(...)`, `<object at 0x...>`) is a failure, not a guess.
 */

/** A parsed value: JSON-like. Dict keys become strings (`1` -> "1", `None` -> "None"). */
export type PyValue = null | boolean | number | string | PyValue[] | { [key: string]: PyValue }

/** The parse result, or where and why it failed. */
export type PyParseResult = { ok: true; value: PyValue } | { ok: false; reason: string; at: number }

/** Nesting deeper than this fails (a bound on recursion, not a limit real metadata reaches). */
export const MAX_PY_DEPTH = 64

/** Sets an own property; `__proto__` too, as data, never as the prototype. */
function setOwn(o: Record<string, PyValue>, k: string, v: PyValue): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
  else o[k] = v
}

class PyError extends Error {
  constructor(
    readonly reason: string,
    readonly at: number,
  ) {
    super(reason)
  }
}

const WORDS: Record<string, PyValue> = {
  None: null,
  True: true,
  False: false,
  null: null,
  true: true,
  false: false,
  inf: Infinity,
  nan: NaN,
}
const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  '/': '/',
  n: '\n',
  r: '\r',
  t: '\t',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\n': '',
}

class Reader {
  pos = 0
  constructor(private readonly s: string) {}

  fail(reason: string): never {
    throw new PyError(reason, this.pos)
  }

  skipSpace(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++
  }

  peek(): string {
    this.skipSpace()
    return this.s[this.pos] ?? ''
  }

  expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}'`)
    this.pos++
  }

  atEnd(): boolean {
    this.skipSpace()
    return this.pos >= this.s.length
  }

  value(depth: number): PyValue {
    if (depth > MAX_PY_DEPTH) this.fail(`nesting deeper than ${MAX_PY_DEPTH}`)
    const c = this.peek()
    if (c === '{') return this.dictOrSet(depth)
    if (c === '[') return this.sequence(']', depth)
    if (c === '(') return this.sequence(')', depth)
    if (c === "'" || c === '"') return this.string(false)
    if (/[rRbBuU]/.test(c) && /^[rRbBuU]{1,2}['"]/.test(this.s.slice(this.pos, this.pos + 3))) {
      let raw = false
      while (this.s[this.pos] !== "'" && this.s[this.pos] !== '"') raw ||= /[rR]/.test(this.s[this.pos++]!)
      return this.string(raw)
    }
    if (/[-+0-9.]/.test(c)) return this.number()
    const word = /^[A-Za-z_]+/.exec(this.s.slice(this.pos))?.[0] ?? ''
    if (word in WORDS) {
      this.pos += word.length
      return WORDS[word]!
    }
    return this.fail(c === '' ? 'unexpected end' : `unexpected ${JSON.stringify(word || c)}`)
  }

  dictOrSet(depth: number): PyValue {
    this.expect('{')
    if (this.peek() === '}') {
      this.pos++
      return {}
    }
    const first = this.value(depth + 1)
    if (this.peek() !== ':') {
      const items = [first]
      while (this.peek() === ',') {
        this.pos++
        if (this.peek() === '}') break
        items.push(this.value(depth + 1))
      }
      this.expect('}')
      return items
    }
    const out: Record<string, PyValue> = {}
    let key = first
    for (;;) {
      this.expect(':')
      if (key !== null && typeof key === 'object') this.fail('unsupported dict key (not a scalar)')
      setOwn(out, key === null ? 'None' : String(key), this.value(depth + 1))
      if (this.peek() !== ',') break
      this.pos++
      if (this.peek() === '}') break
      key = this.value(depth + 1)
    }
    this.expect('}')
    return out
  }

  sequence(close: string, depth: number): PyValue[] {
    this.pos++
    const items: PyValue[] = []
    while (this.peek() !== close) {
      items.push(this.value(depth + 1))
      if (this.peek() !== ',') break
      this.pos++
    }
    this.expect(close)
    return items
  }

  number(): number {
    const m = /^[-+]?(inf|nan|(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)/.exec(this.s.slice(this.pos))
    if (!m) return this.fail('bad number')
    this.pos += m[0].length
    if (/^[A-Za-z_]/.test(this.s[this.pos] ?? '')) this.fail('unsupported number literal')
    const text = m[0].replace(/^\+/, '')
    return text.endsWith('inf')
      ? text.startsWith('-')
        ? -Infinity
        : Infinity
      : text.endsWith('nan')
        ? NaN
        : Number(text)
  }

  string(raw: boolean): string {
    const quote = this.s[this.pos++]!
    let out = ''
    for (;;) {
      const c = this.s[this.pos++]
      if (c === undefined) this.fail('unterminated string')
      if (c === quote) return out
      if (c !== '\\') {
        out += c
        continue
      }
      const e = this.s[this.pos++]
      if (e === undefined) this.fail('unterminated string')
      if (raw) {
        out += '\\' + e
      } else if (e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e]
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8
        const hex = this.s.slice(this.pos, this.pos + len)
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) this.fail(`bad \\${e} escape`)
        const cp = parseInt(hex, 16)
        if (cp > 0x10ffff) this.fail(`bad \\${e} escape`)
        out += String.fromCodePoint(cp)
        this.pos += len
      } else if (/[0-7]/.test(e)) {
        const oct = /^[0-7]{1,3}/.exec(this.s.slice(this.pos - 1))![0]
        out += String.fromCharCode(parseInt(oct, 8))
        this.pos += oct.length - 1
      } else {
        out += '\\' + e
      }
    }
  }
}

/** Parses one Python literal (the whole text, surrounding space allowed). */
export function parsePythonLiteral(text: string): PyParseResult {
  const r = new Reader(text)
  try {
    const value = r.value(0)
    if (!r.atEnd()) return { ok: false, reason: 'trailing text after the value', at: r.pos }
    return { ok: true, value }
  } catch (err) {
    if (err instanceof PyError) return { ok: false, reason: err.reason, at: err.at }
    throw err
  }
}

/** True when `text` may be a dict or list repr worth parsing (starts with `{`, `[` or `(`). */
export function looksLikeContainer(text: string): boolean {
  return /^\s*[[{(]/.test(text)
}
