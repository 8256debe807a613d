/**
 * What Grafana and the ClickHouse data source plugin (`grafana-clickhouse-datasource`) do to a panel's
 * `rawSql` before ClickHouse sees it, so tests can run dashboard SQL without Grafana. Three passes, in the
 * plugin's order (sources read: grafana/clickhouse-datasource `src/data/CHDatasource.ts` and
 * `pkg/macros/macros.go`, grafana/macropro `parser.go`, grafana/grafana `rangeutil.ts` and the scenes
 * format registry):
 *
 * 1. Frontend, plugin: `$__conditionalAll(condition, $var)` becomes `1=1` when `$var` is All, else the
 *    condition. The plugin tests `current.value.toString()` against `''` and `'$__all'`, so a selection
 *    whose only value is the empty string ALSO counts as All (dashboards must not offer `''` as a value).
 * 2. Frontend, Grafana: template variables `$var`, `${var}`, `${var:format}`, `[[var]]`. Without a format
 *    the plugin's own formatter applies: an array becomes `'a','b'` (quotes NOT escaped), a single value is
 *    inserted raw. All becomes the custom all value (inserted raw) or every option value.
 * 3. Backend, plugin: `$__` macros. SQL comments are blanked first; names match longest first and only
 *    as whole names; macros expand anywhere, string literals included; unknown macros stay as they are
 *    (and ClickHouse then rejects the query). Times are whole Unix seconds (`toDateTime(n)`) or
 *    milliseconds (`fromUnixTimestamp64Milli(n)`); both ends of `$__timeFilter` are inclusive.
 *
 * Covered: the macros in MACROS and the formats in FORMATS. `expandQuery` refuses anything else (an
 * unknown format throws; an unknown macro or variable is left in place, then reported), so a dashboard
 * cannot start using a form this file does not model without a test noticing.
 */

/** The current value Grafana keeps for a variable: a string, or an array for multi-value variables. */
export type VariableValue = string | string[]

/** Grafana's value for "All". */
export const ALL = '$__all'

/** A variable as the expansion sees it. */
export interface VariableState {
  value: VariableValue
  /** The option values All stands for (when there is no custom all value). */
  options?: string[]
  /** The variable's custom all value, inserted raw when All is selected. */
  allValue?: string
}

/** The time range and interval of one panel query, and the variables of the dashboard. */
export interface ExpandContext {
  fromMs: number
  toMs: number
  intervalMs: number
  variables: Record<string, VariableState>
}

const isAll = (v: VariableValue) => v === ALL || (Array.isArray(v) && v[0] === ALL)

/** Pass 1: the plugin's `applyConditionalAll`, ported as written (last occurrence first). */
export function applyConditionalAll(sql: string, variables: Record<string, VariableState>): string {
  const macro = '$__conditionalAll('
  let index = sql.lastIndexOf(macro)
  while (index !== -1) {
    const params = macroArgs(sql, index + macro.length - 1)
    if (params.length !== 2) return sql
    const varRef = /(?<=\$\{)[\w\d]+(?=\})|(?<=\$)[\w\d]+/.exec(params[1]!.trim())
    let phrase = params[0]!
    if (varRef) {
      const value = variables[varRef[0]]?.value.toString()
      if (value === '' || value === ALL) phrase = '1=1'
    }
    sql = sql.replace(`${macro}${params[0]},${params[1]})`, phrase)
    index = sql.lastIndexOf(macro)
  }
  return sql
}

/** The plugin's `getMacroArgs`: splits on top-level commas, counting parentheses (quotes are not special). */
function macroArgs(sql: string, openIndex: number): string[] {
  const args: string[] = []
  const re = /\(|\)|,/g
  let depth = 0
  let lastEnd = 1
  const rest = sql.substring(openIndex)
  for (let m = re.exec(rest); m !== null; m = re.exec(rest)) {
    if (m[0] === '(') depth++
    else if (m[0] === ')') depth--
    if (m[0] === ',' && depth === 1) {
      args.push(rest.substring(lastEnd, re.lastIndex - 1))
      lastEnd = re.lastIndex
    }
    if (depth === 0) {
      args.push(rest.substring(lastEnd, re.lastIndex - 1))
      return args
    }
  }
  return []
}

type Formatter = (v: VariableValue) => string
const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`

/** Grafana's variable formats this file models (`${var:format}`). */
const FORMATS: Record<string, Formatter> = {
  singlequote: (v) => (Array.isArray(v) ? v.map(quote).join(',') : quote(v)),
  sqlstring: (v) => {
    const q = (s: string) => `'${s.replace(/'/g, "''")}'`
    return Array.isArray(v) ? v.map(q).join(',') : q(v)
  },
  csv: (v) => (Array.isArray(v) ? v.join(',') : v),
  raw: (v) => (Array.isArray(v) ? v.join(',') : v),
}

/** The plugin's formatter, used when the reference names no format. */
const pluginFormat: Formatter = (v) => (Array.isArray(v) ? `'${v.join("','")}'` : v)

/** Grafana's variable syntax (TemplateSrv `variableRegex`). */
const VARIABLE_RE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\${(\w+)(?:\.([^:^}]+))?(?::([^}]+))?}/g

/** Pass 2: Grafana's `templateSrv.replace(sql, scopedVars, pluginFormat)`. */
export function replaceVariables(sql: string, ctx: ExpandContext): string {
  const builtins: Record<string, string> = {
    __interval: intervalText(ctx.intervalMs),
    __interval_ms: String(ctx.intervalMs),
    __from: String(ctx.fromMs),
    __to: String(ctx.toMs),
  }
  return sql.replace(
    VARIABLE_RE,
    (match, v1?: string, v2?: string, f2?: string, v3?: string, path?: string, f3?: string) => {
      const name = (v1 ?? v2 ?? v3)!
      if (path) throw new Error(`variable field paths are not modelled: ${match}`)
      const fmtName = f2 ?? f3
      const format = fmtName === undefined ? pluginFormat : FORMATS[fmtName]
      if (!format) throw new Error(`variable format not modelled: ${match}`)
      if (name in builtins) return format(builtins[name]!)
      const state = ctx.variables[name]
      if (!state) return match // not a variable: left for the backend ($__timeFilter, ...)
      if (!isAll(state.value)) return format(state.value)
      if (state.allValue !== undefined) return replaceVariables(state.allValue, ctx)
      if (!state.options) throw new Error(`All selected for ${name} but its options are unknown`)
      return format(state.options)
    },
  )
}

/** Grafana's `secondsToHms`, the text of `$__interval`. */
function intervalText(ms: number): string {
  const units: [number, string][] = [
    [31_536_000_000, 'y'],
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ]
  for (const [size, unit] of units) if (ms >= size) return `${Math.floor(ms / size)}${unit}`
  return `${ms}ms`
}

type Macro = (ctx: ExpandContext, args: string[]) => string

const unix = (ms: number) => Math.floor(ms / 1000)
const dateTime = (ms: number) => `toDateTime(${unix(ms)})`
const dateTime64 = (ms: number) => `fromUnixTimestamp64Milli(${ms})`
const date = (ms: number) => `toDate('${new Date(ms).toISOString().slice(0, 10)}')`
const seconds = (ctx: ExpandContext) => Math.trunc(Math.max(ctx.intervalMs / 1000, 1))

function oneArg(name: string, f: (col: string, ctx: ExpandContext) => string): Macro {
  return (ctx, args) => {
    if (args.length !== 1) throw new Error(`$__${name} expected 1 argument(s), received ${args.length}`)
    return f(args[0]!, ctx)
  }
}

/** Pass 3: the plugin's backend macros (pkg/macros/macros.go), output as the plugin writes it. */
const MACROS: Record<string, Macro> = {
  timeFilter: oneArg('timeFilter', (c, x) => `${c} >= ${dateTime(x.fromMs)} AND ${c} <= ${dateTime(x.toMs)}`),
  timeFilter_ms: oneArg(
    'timeFilter_ms',
    (c, x) => `${c} >= ${dateTime64(x.fromMs)} AND ${c} <= ${dateTime64(x.toMs)}`,
  ),
  dateFilter: oneArg('dateFilter', (c, x) => `${c} >= ${date(x.fromMs)} AND ${c} <= ${date(x.toMs)}`),
  timeFrom: oneArg('timeFrom', (c, x) => `${c} >= ${dateTime(x.fromMs)}`),
  timeTo: oneArg('timeTo', (c, x) => `${c} <= ${dateTime(x.toMs)}`),
  fromTime: (x) => dateTime(x.fromMs),
  toTime: (x) => dateTime(x.toMs),
  fromTime_ms: (x) => dateTime64(x.fromMs),
  toTime_ms: (x) => dateTime64(x.toMs),
  timeInterval: oneArg(
    'timeInterval',
    (c, x) => `toStartOfInterval(toDateTime(${c}), INTERVAL ${seconds(x)} second)`,
  ),
  timeInterval_ms: oneArg(
    'timeInterval_ms',
    (c, x) =>
      `toStartOfInterval(toDateTime64(${c}, 3), INTERVAL ${Math.trunc(Math.max(x.intervalMs, 1))} millisecond)`,
  ),
  interval_s: (x) => String(seconds(x)),
}

/** Backend pass: blank comments, then expand each known macro, longest name first. */
export function expandBackendMacros(sql: string, ctx: ExpandContext): string {
  let out = stripComments(sql)
  const names = Object.keys(MACROS).sort((a, b) => b.length - a.length || a.localeCompare(b))
  for (const name of names) out = replaceMacro(out, `$__${name}`, (args) => MACROS[name]!(ctx, args))
  return out
}

/** macropro `replaceAllMacro`: whole-name matches only, with an optional parenthesised argument list. */
function replaceMacro(s: string, token: string, expand: (args: string[]) => string): string {
  let out = ''
  for (;;) {
    const at = s.indexOf(token)
    if (at === -1) return out + s
    const after = at + token.length
    if (after < s.length && /\w/.test(s[after]!)) {
      out += s.slice(0, after)
      s = s.slice(after)
      continue
    }
    out += s.slice(0, at)
    s = s.slice(after)
    let raw = ''
    if (s.startsWith('(')) {
      const end = closingParen(s)
      if (end !== -1) {
        raw = s.slice(1, end)
        s = s.slice(end + 1)
      }
    }
    out += expand(splitArgs(raw))
  }
}

/** Index after a '...' or "..." literal starting at `i` (doubled quotes escape; as macropro). */
function skipLiteral(s: string, i: number): number {
  const q = s[i]
  let j = i + 1
  while (j < s.length) {
    if (s[j] === q) {
      if (s[j + 1] === q) j += 2
      else return j + 1
    } else j++
  }
  return j
}

function closingParen(s: string): number {
  let depth = 0
  for (let i = 0; i < s.length;) {
    const c = s[i]
    if (c === "'" || c === '"') {
      i = skipLiteral(s, i)
      continue
    }
    if (c === '(') depth++
    else if (c === ')' && --depth === 0) return i
    i++
  }
  return -1
}

function splitArgs(raw: string): string[] {
  raw = raw.trim()
  if (raw === '') return []
  const args: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < raw.length;) {
    const c = raw[i]
    if (c === "'" || c === '"') {
      i = skipLiteral(raw, i)
      continue
    }
    if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === ',' && depth === 0) {
      args.push(raw.slice(start, i).trim())
      start = i + 1
    }
    i++
  }
  args.push(raw.slice(start).trim())
  return args
}

/**
 * macropro `StripComments` with the plugin's styles (line, block, backslash escapes in literals, backtick
 * identifiers): comments become spaces, literals and identifiers are kept.
 */
export function stripComments(s: string): string {
  let out = ''
  for (let i = 0; i < s.length;) {
    const c = s[i]!
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1
      while (j < s.length && s[j] !== c) j += s[j] === '\\' && c !== '`' ? 2 : 1
      out += s.slice(i, j + 1)
      i = j + 1
    } else if (s.startsWith('--', i)) {
      const end = s.slice(i).search(/[\r\n]/)
      const j = end === -1 ? s.length : i + end
      out += ' '.repeat(j - i)
      i = j
    } else if (s.startsWith('/*', i)) {
      const end = s.indexOf('*/', i + 2)
      const j = end === -1 ? s.length : end + 2
      out += s.slice(i, j).replace(/[^\r\n]/g, ' ')
      i = j
    } else {
      out += c
      i++
    }
  }
  return out
}

/** All three passes, then a check that nothing Grafana-shaped is left (it would reach ClickHouse as is). */
export function expandQuery(rawSql: string, ctx: ExpandContext): string {
  const sql = expandBackendMacros(replaceVariables(applyConditionalAll(rawSql, ctx.variables), ctx), ctx)
  const left = /\$\w+|\$\{[^}]*\}|\[\[\w+/.exec(sql)
  if (left) throw new Error(`unexpanded '${left[0]}' in:\n${sql}`)
  return sql
}

/** Grafana's `roundInterval`: the "nice" interval for a raw one (ms). */
export function roundInterval(ms: number): number {
  const ladder: [number, number][] = [
    [10, 1],
    [15, 10],
    [35, 20],
    [75, 50],
    [150, 100],
    [350, 200],
    [750, 500],
    [1500, 1000],
    [3500, 2000],
    [7500, 5000],
    [12500, 10000],
    [17500, 15000],
    [25000, 20000],
    [45000, 30000],
    [90000, 60000],
    [210000, 120000],
    [450000, 300000],
    [750000, 600000],
    [1050000, 900000],
    [1500000, 1200000],
    [2700000, 1800000],
    [5400000, 3600000],
    [9000000, 7200000],
    [16200000, 10800000],
    [32400000, 21600000],
    [86400000, 43200000],
    [604800000, 86400000],
    [1814400000, 604800000],
    [3628800000, 2592000000],
  ]
  for (const [below, nice] of ladder) if (ms < below) return nice
  return 31536000000
}

/** Grafana's `intervalToMs` ("1h", "30s", "500ms", a bare number of seconds). */
export function intervalToMs(s: string): number {
  if (Number(s)) return parseInt(s, 10) * 1000
  const m = /^(-?\d+(?:\.\d+)?)(ms|[Mwdhmsy])/.exec(s)
  const unit = { y: 31536000, M: 2592000, w: 604800, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 }
  if (!m) throw new Error(`invalid interval ${s}`)
  return unit[m[2] as keyof typeof unit] * 1000 * parseInt(m[1]!, 10)
}

/**
 * Grafana's `calculateInterval`: the panel query's interval for a range drawn with `maxDataPoints` points
 * (the panel's width in pixels unless set), never below the panel's min interval (`panel.interval`).
 */
export function panelIntervalMs(
  fromMs: number,
  toMs: number,
  maxDataPoints: number,
  minInterval?: string,
): number {
  const ms = roundInterval((toMs - fromMs) / maxDataPoints)
  const low = minInterval ? intervalToMs(minInterval) : 1
  return Math.max(ms, low)
}
