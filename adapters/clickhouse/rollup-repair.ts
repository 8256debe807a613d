import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { MIGRATIONS } from '../../schemas/migrations/index.js'
import { MINUTE_ROLLUP_TTL_DAYS } from '../../schemas/migrations/003-spend-rollups.js'
import type { StoreClient } from './client.js'
import { renderSql } from './migrate.js'
import { COST_SCALE } from './row-binary.js'
import { deleteSettings, rebuildSettings } from './settings.js'

/**
 * The rollups the repair keeps equal to raw `requests`, each with its bucket column and the span it is
 * compared and rebuilt by (`span_s`: an hour, or a day for the daily rollup, whose rows span 24 hours).
 */
export const ROLLUPS = [
  { table: 'spend_by_hour', bucket: 'hour', span_s: 3600 },
  { table: 'spend_by_minute', bucket: 'minute', span_s: 3600 },
  { table: 'spend_by_customer_day', bucket: 'day', span_s: 86_400 },
] as const
export type RollupTable = (typeof ROLLUPS)[number]['table']

/** What to check. */
export interface RollupRepairOptions {
  /** Hours that got raw rows in the last `windowHours` (by `received_at`) are checked; 0 checks nothing. */
  windowHours: number
  /** `store.retention_days`: hours whose raw rows the TTL may have removed are left alone (0 = forever). */
  retentionDays: number
  /** Rebuilds of one hour before it is reported unrepaired (a concurrent insert can race one). */
  maxAttempts?: number
}

/** One hour (a day for the daily rollup) of one rollup, with the sums of raw rows and of the rollup (as exact decimal text). */
export interface BucketDiff {
  table: RollupTable
  /** The start of the hour (of the day for `spend_by_customer_day`). */
  hour: string
  raw: Sums
  rollup: Sums
}

/** What a repair run found and did. */
export interface RollupRepairReport {
  /** Hours compared (each against every rollup that still keeps it). */
  checkedHours: number
  repaired: BucketDiff[]
  /** Still different from raw rows after `maxAttempts` rebuilds: the rollup under- or over-counts there. */
  unrepaired: BucketDiff[]
}

/** The summed columns of a rollup, as exact text (UInt64 and Decimal(38, 10)). */
type Sums = Record<(typeof SUMS)[number], string>
const SUMS = [
  'requests',
  'failures',
  'cache_hits',
  'input_tokens',
  'output_tokens',
  'cached_tokens',
  'cost_usd',
] as const
/** The same sums over raw rows and over a rollup; `s_` aliases never shadow a column. */
const RAW_SUMS = `toString(count()) AS s_requests, toString(countIf(status = 'failure')) AS s_failures,
  toString(countIf(cache_hit)) AS s_cache_hits, toString(sum(input_tokens)) AS s_input_tokens,
  toString(sum(output_tokens)) AS s_output_tokens, toString(sum(cached_tokens)) AS s_cached_tokens,
  toString(sum(cost_usd)) AS s_cost_usd`
const ROLLUP_SUMS = SUMS.map((c) => `toString(sum(${c})) AS s_${c}`).join(', ')
const ZERO: Sums = {
  requests: '0',
  failures: '0',
  cache_hits: '0',
  input_tokens: '0',
  output_tokens: '0',
  cached_tokens: '0',
  cost_usd: '0',
}

const HOUR_S = 3600
/** Hours per compare or rebuild statement: bounds the IN list and the partitions one insert touches. */
const CHUNK_HOURS = 240

/**
 * The SELECT of the view that fills `table`, as the migrations define it (a later definition wins), so
 * the rebuild groups exactly like the view does.
 */
export function viewSelect(table: RollupTable): string {
  const heads = [
    `CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.${table}_mv TO {{db}}.${table} AS\n`,
    `ALTER TABLE {{db}}.${table}_mv MODIFY QUERY\n`,
  ]
  let found: string | undefined
  for (const m of MIGRATIONS)
    for (const s of m.statements) {
      const head = heads.find((h) => s.startsWith(h))
      if (head) found = s.slice(head.length)
    }
  if (found === undefined) throw new Error(`no migration defines ${table}_mv`)
  return found
}

/** The view's SELECT reading only raw rows that match `filter` (the view reads `{{db}}.requests` once). */
export function rebuildSelect(table: RollupTable, filter: string): string {
  const select = viewSelect(table)
  const from = /\bFROM \{\{db\}\}\.requests\b/g
  if ((select.match(from) ?? []).length !== 1)
    throw new Error(`${table}_mv does not read {{db}}.requests exactly once`)
  return select.replace(from, `FROM (SELECT * FROM {{db}}.requests WHERE ${filter})`)
}

/** The start of the span (`span_s`: 3600 or 86400) holding `expr`. */
const startOf = (expr: string, spanS: number) =>
  spanS === 86_400 ? `toStartOfDay(${expr})` : `toStartOfHour(${expr})`

/**
 * `expr` (a DateTime) falls in one of the spans `{hours}` (epoch s, hours or days), within
 * `{lo}`..`{hi}` for pruning.
 */
function inHours(expr: string, spanS: number = HOUR_S): string {
  return `${expr} >= toDateTime({lo:UInt32}, 'UTC') AND ${expr} < toDateTime({hi:UInt32}, 'UTC')
  AND toUnixTimestamp(${startOf(expr, spanS)}) IN {hours:Array(UInt32)}`
}
const hourParams = (hours: readonly number[], spanS: number = HOUR_S) => ({
  hours,
  lo: hours[0]!,
  hi: hours[hours.length - 1]! + spanS,
})
const spanOf = (table: RollupTable) => ROLLUPS.find((r) => r.table === table)!.span_s
const iso = (h: number) => new Date(h * 1000).toISOString()

function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n))
  return out
}

/**
 * Finds the hours where a rollup disagrees with raw `requests` and rebuilds exactly those: their rollup
 * rows are deleted and inserted again from raw rows with the view's own SELECT, then compared again.
 *
 * Why: each table's part of an insert commits on its own, so a kill -9 mid-insert can leave a batch in
 * `requests` and not in a rollup; the resend is dropped as already stored, and the rollup would stay short.
 * Raw rows are the record (the writer dedupes against them), so the rollup is made to match them.
 *
 * Bounded: only hours that got raw rows in the last `windowHours` (by `received_at`, so a backfill of old
 * hours is covered), inside raw retention, and for the minute rollup inside its TTL.
 * MUST run with no insert in flight into the hours it rebuilds (at start, before any source): a concurrent
 * insert can race the delete and the re-insert; the re-check then sees it and the hour is rebuilt again,
 * up to `maxAttempts`, then reported unrepaired.
 */
export async function repairRollups(
  store: StoreClient,
  opts: RollupRepairOptions,
  log: Logger,
): Promise<RollupRepairReport> {
  const report: RollupRepairReport = { checkedHours: 0, repaired: [], unrepaired: [] }
  if (opts.windowHours === 0) return report
  const { hours, nowS } = await recentHours(store, opts.windowHours)
  // an hour is safe while none of its rows can have expired: its start is newer than the cutoff by an hour
  const keptSince = (days: number) => (days === 0 ? -Infinity : nowS - days * 86_400 + HOUR_S)
  const checked = hours.filter((h) => h >= keptSince(opts.retentionDays))
  report.checkedHours = checked.length
  const minuteKept = keptSince(MINUTE_ROLLUP_TTL_DAYS)
  for (const chunk of chunks(checked, CHUNK_HOURS)) {
    // raw rows are summed once per chunk, by hour over the whole days it touches, and compared with every
    // rollup (by day for the daily one: the sum of its 24 hours); the re-checks after a rebuild read again
    const rawByHour = await rawHourSums(store, chunk)
    for (const { table, span_s } of ROLLUPS) {
      // a daily rollup is compared by whole days, each only while all of its raw rows are kept
      const keep =
        table === 'spend_by_minute'
          ? chunk.filter((h) => h >= minuteKept)
          : span_s === HOUR_S
            ? chunk
            : [...new Set(chunk.map((h) => h - (h % span_s)))].filter(
                (d) => d >= keptSince(opts.retentionDays),
              )
      if (keep.length === 0) continue
      let diffs = await compare(store, table, keep, span_s === HOUR_S ? rawByHour : daySums(rawByHour))
      const first = new Map(diffs.map((d) => [d.hour, d]))
      for (let attempt = 1; diffs.length > 0 && attempt <= (opts.maxAttempts ?? 3); attempt++) {
        log.warn(
          { table, attempt, hours: diffs.map((d) => d.hour), diffs: diffs.slice(0, 5) },
          'rollup differs from raw rows: rebuilding',
        )
        const torn = diffs.map((d) => Date.parse(d.hour) / 1000)
        for (const part of chunks(torn, CHUNK_HOURS)) await rebuild(store, table, part)
        diffs = await compare(store, table, torn)
      }
      const left = new Set(diffs.map((d) => d.hour))
      for (const [hour, d] of first) (left.has(hour) ? report.unrepaired : report.repaired).push(d)
      if (first.size > left.size)
        log.info(
          { table, hours: [...first.keys()].filter((h) => !left.has(h)) },
          'rollup repaired from raw rows',
        )
      if (diffs.length > 0)
        log.error(
          { table, hours: [...left], diffs: diffs.slice(0, 5) },
          'rollup repair failed: still differs from raw rows',
        )
    }
  }
  log.info(
    {
      windowHours: opts.windowHours,
      checkedHours: report.checkedHours,
      repaired: report.repaired.length,
      unrepaired: report.unrepaired.length,
    },
    'rollups checked',
  )
  return report
}

/** The hours (epoch s, ascending) of raw rows received in the last `windowHours`, and the server's now. */
async function recentHours(
  store: StoreClient,
  windowHours: number,
): Promise<{ hours: number[]; nowS: number }> {
  const { client, database } = store
  const rs = await client.query({
    query: `SELECT toUnixTimestamp(toStartOfHour(ts)) AS h FROM ${database}.requests
WHERE received_at >= now64(3) - toIntervalHour({window:UInt32})
GROUP BY h ORDER BY h`,
    query_params: { window: windowHours },
    format: 'JSONEachRow',
  })
  const hours = (await rs.json<{ h: number | string }>()).map((r) => Number(r.h))
  const now = await client.query({ query: 'SELECT toUnixTimestamp(now()) AS now', format: 'JSONEachRow' })
  const [row] = await now.json<{ now: number | string }>()
  return { hours, nowS: Number(row!.now) }
}

/** The raw sums of every hour of the days (UTC) that hold `hours`, by hour (epoch s); absent: no rows. */
async function rawHourSums(store: StoreClient, hours: readonly number[]): Promise<Map<number, Sums>> {
  const days = [...new Set(hours.map((h) => h - (h % 86_400)))]
  const rs = await store.client.query({
    query: renderSql(
      `SELECT toUnixTimestamp(toStartOfHour(ts)) AS h, ${RAW_SUMS}
FROM {{db}}.requests WHERE ${inHours('ts', 86_400)} GROUP BY h`,
      store.database,
    ),
    query_params: hourParams(days, 86_400),
    format: 'JSONEachRow',
  })
  return sumsByHour(await rs.json<Record<string, string | number>>())
}

function sumsByHour(rows: ReadonlyArray<Record<string, string | number>>): Map<number, Sums> {
  const byHour = new Map<number, Sums>()
  for (const r of rows) {
    const s = { ...ZERO }
    for (const c of SUMS) s[c] = String(r[`s_${c}`])
    byHour.set(Number(r.h), s)
  }
  return byHour
}

/** Exact decimal text as an integer of 10^-COST_SCALE units (cost_usd's places; the counts have none). */
function units(x: string): bigint {
  const neg = x.startsWith('-')
  const [int = '0', frac = ''] = (neg ? x.slice(1) : x).split('.')
  const v = BigInt(int + frac.padEnd(COST_SCALE, '0').slice(0, COST_SCALE))
  return neg ? -v : v
}
/** `units` back to decimal text. */
function fromUnits(v: bigint): string {
  const neg = v < 0n
  const digits = (neg ? -v : v).toString().padStart(COST_SCALE + 1, '0')
  const int = digits.slice(0, -COST_SCALE)
  const frac = digits.slice(-COST_SCALE).replace(/0+$/, '')
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`
}

/** The hourly sums added up by day (epoch s of 00:00 UTC), exactly. */
export function daySums(byHour: ReadonlyMap<number, Sums>): Map<number, Sums> {
  const acc = new Map<number, Record<(typeof SUMS)[number], bigint>>()
  for (const [h, s] of byHour) {
    const day = h - (h % 86_400)
    const d =
      acc.get(day) ?? (Object.fromEntries(SUMS.map((c) => [c, 0n])) as Record<(typeof SUMS)[number], bigint>)
    for (const c of SUMS) d[c] += units(s[c])
    acc.set(day, d)
  }
  const out = new Map<number, Sums>()
  for (const [day, d] of acc) out.set(day, Object.fromEntries(SUMS.map((c) => [c, fromUnits(d[c])])) as Sums)
  return out
}

/**
 * The hours among `hours` where `table` and raw rows differ in any sum; `rawSums` (by span start) when
 * the raw rows were already summed, else they are read here.
 */
async function compare(
  store: StoreClient,
  table: RollupTable,
  hours: readonly number[],
  rawSums?: ReadonlyMap<number, Sums>,
): Promise<BucketDiff[]> {
  const bucket = ROLLUPS.find((r) => r.table === table)!.bucket
  const span = spanOf(table)
  const sums = async (query: string) => {
    const rs = await store.client.query({
      query: renderSql(query, store.database),
      query_params: hourParams(hours, span),
      format: 'JSONEachRow',
    })
    return sumsByHour(await rs.json<Record<string, string | number>>())
  }
  const raw =
    rawSums ??
    (await sums(`SELECT toUnixTimestamp(${startOf('ts', span)}) AS h, ${RAW_SUMS}
FROM {{db}}.requests WHERE ${inHours('ts', span)} GROUP BY h`))
  const rollup = await sums(`SELECT toUnixTimestamp(${startOf(bucket, span)}) AS h, ${ROLLUP_SUMS}
FROM {{db}}.${table} WHERE ${inHours(bucket, span)} GROUP BY h`)
  const diffs: BucketDiff[] = []
  for (const h of hours) {
    const r = raw.get(h) ?? ZERO
    const m = rollup.get(h) ?? ZERO
    if (SUMS.some((c) => !sameNumber(r[c], m[c]))) diffs.push({ table, hour: iso(h), raw: r, rollup: m })
  }
  return diffs
}

/** Decimal text equality whatever the trailing zeros ("1.50" = "1.5", "0" = "0.000"). */
function sameNumber(a: string, b: string): boolean {
  const norm = (x: string) => (x.includes('.') ? x.replace(/0+$/, '').replace(/\.$/, '') : x)
  return norm(a) === norm(b)
}

/** Replaces `table`'s rows of `hours` by the view's SELECT over the raw rows of those hours. */
async function rebuild(store: StoreClient, table: RollupTable, hours: readonly number[]): Promise<void> {
  const { client, database } = store
  const bucket = ROLLUPS.find((r) => r.table === table)!.bucket
  const span = spanOf(table)
  const params = hourParams(hours, span)
  await client.command({
    query: `DELETE FROM ${database}.${table} WHERE ${inHours(bucket, span)}`,
    query_params: params,
    clickhouse_settings: deleteSettings(store.kind),
  })
  // by column name, as the view fills its table
  const rs = await client.query({
    query: `SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position`,
    query_params: { db: database, t: table },
    format: 'JSONEachRow',
  })
  const cols = (await rs.json<{ name: string }>()).map((c) => c.name).join(', ')
  await client.command({
    query: `INSERT INTO ${database}.${table} (${cols}) SELECT ${cols} FROM (${renderSql(rebuildSelect(table, inHours('ts', span)), database)})`,
    query_params: params,
    clickhouse_settings: rebuildSettings(`rollup-repair-${randomUUID()}`),
  })
}
