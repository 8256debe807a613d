import type { ClickHouseClient } from '@clickhouse/client'
import type { EventReader, ReadEventsOptions } from '../../core/ports/event-reader.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { randomUUID } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { StoreClient } from './client.js'
import { REQUEST_ROW_COLUMNS, RowBinaryWriter, requestRows } from './row-binary.js'
import { insertSettings } from './settings.js'

/** The EventReader port on ClickHouse: the requests table, in event-time order. */
export function clickHouseEventReader(store: StoreClient): EventReader {
  const { client, database } = store
  return {
    readEvents: (fromTs, toTs, pageSize, opts) => readEvents(client, database, fromTs, toTs, pageSize, opts),
    countEvents: (fromTs, toTs) => countRange(client, database, fromTs, toTs, agentsFilter({})),
  }
}

/** Whether the store's database has the `requests` table (a read-only opener checks before reading). */
export async function requestsTableExists(store: StoreClient): Promise<boolean> {
  const rs = await store.client.query({
    query: `SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'requests'`,
    query_params: { db: store.database },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ n: string | number }>()
  return Number(row?.n ?? 0) > 0
}

/** The newest event time stored (epoch ms; 0 when the table is empty). */
export async function maxStoredTs(store: StoreClient): Promise<number> {
  const rs = await store.client.query({
    query: `SELECT toUnixTimestamp64Milli(max(ts)) AS t FROM ${store.database}.requests`,
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ t: string | number }>()
  return Number(row?.t ?? 0)
}

/** Ids per lookup query: keeps query parameters well under the HTTP server's URI limit. */
const LOOKUP_CHUNK = 2_000

/** Inserts canonical events; `ts`/`end_ts` go as epoch ms, which DateTime64(3) reads exactly. */
export async function insertRequests(
  client: ClickHouseClient,
  database: string,
  rows: readonly RequestEvent[],
  token: string,
): Promise<void> {
  if (rows.length === 0) return
  await client.insert({
    table: `${database}.requests`,
    values: rows as RequestEvent[],
    format: 'JSONEachRow',
    clickhouse_settings: insertSettings(token),
  })
}

const ROW_COLUMNS = REQUEST_ROW_COLUMNS.map(([name]) => name).join(', ')
const ROW_STRUCTURE = REQUEST_ROW_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')

/**
 * Runs `use` with `bytes` staged in a new file of the embedded engine's scratch directory (for `file()`),
 * and removes the file after, whatever `use` did.
 */
async function withScratchFile<T>(
  scratchDir: string,
  ext: string,
  bytes: Uint8Array,
  use: (file: string) => Promise<T>,
): Promise<T> {
  const file = join(scratchDir, `${randomUUID()}.${ext}`)
  await writeFile(file, bytes)
  try {
    return await use(file)
  } finally {
    await rm(file, { force: true })
  }
}

/**
 * Inserts canonical events the fastest way the store takes them. The embedded engine parses JSONEachRow
 * at ~20k rows/s of these events (single-threaded, from the query text); RowBinary staged in a file of
 * the data directory and read with `file()` goes in at ~140k rows/s (chdb 3.4, 2 cores, both rollup
 * views on). One INSERT ... SELECT of one file is one block under one token, as the JSON insert was.
 * A server gets JSONEachRow over HTTP (it parses in parallel on its own cores).
 */
export async function insertRequestRows(
  store: StoreClient,
  rows: readonly RequestEvent[],
  token: string,
): Promise<void> {
  if (rows.length === 0) return
  if (!store.scratchDir) return insertRequests(store.client, store.database, rows, token)
  await withScratchFile(store.scratchDir, 'rowbinary', requestRows(rows), (file) =>
    store.client.command({
      query: `INSERT INTO ${store.database}.requests (${ROW_COLUMNS})
SELECT * FROM file({file:String}, 'RowBinary', {structure:String})`,
      query_params: { file, structure: ROW_STRUCTURE },
      clickhouse_settings: insertSettings(token),
    }),
  )
}

/**
 * Which of `ids` already have a row with `ts` in [minTs, maxTs] (a duplicate carries its original ts).
 * On the embedded engine the ids go in a RowBinary file of the scratch directory, read by `file()` in
 * the IN: one statement per batch whatever its size, and no `Array(String)` query parameter for the engine
 * to parse (the larger cost of the lookup as the batch grows). The engine trace of `npm run bench --
 * --only http` shows its time per batch (`store select requests`). A server gets the ids as a
 * parameter, in chunks under its URI limit.
 */
export async function existingEventIds(
  store: StoreClient,
  ids: readonly string[],
  minTs: number,
  maxTs: number,
): Promise<Set<string>> {
  const found = new Set<string>()
  if (ids.length === 0) return found
  const { client, database } = store
  const where = `ts >= fromUnixTimestamp64Milli({min:Int64}, 'UTC') AND ts <= fromUnixTimestamp64Milli({max:Int64}, 'UTC')`
  if (store.scratchDir) {
    const w = new RowBinaryWriter(ids.length * 40)
    for (const id of ids) w.string(id)
    const rows = await withScratchFile(store.scratchDir, 'ids', w.bytes(), async (file) => {
      const rs = await client.query({
        query: `SELECT DISTINCT event_id FROM ${database}.requests
WHERE ${where} AND event_id IN (SELECT event_id FROM file({file:String}, 'RowBinary', 'event_id String'))`,
        query_params: { min: minTs, max: maxTs, file },
        format: 'JSONEachRow',
      })
      return rs.json<{ event_id: string }>()
    })
    for (const row of rows) found.add(row.event_id)
    return found
  }
  for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
    const rs = await client.query({
      query: `SELECT DISTINCT event_id FROM ${database}.requests
WHERE ${where} AND event_id IN {ids:Array(String)}`,
      query_params: { min: minTs, max: maxTs, ids: ids.slice(i, i + LOOKUP_CHUNK) },
      format: 'JSONEachRow',
    })
    for (const row of await rs.json<{ event_id: string }>()) found.add(row.event_id)
  }
  return found
}

/** How a stored column is read back when not as itself: instants as epoch ms, the cost as a float. */
const READ_AS: Partial<Record<keyof RequestEvent, string>> = {
  ts: 'toUnixTimestamp64Milli(ts) AS x_ts',
  end_ts: 'toUnixTimestamp64Milli(end_ts) AS x_end_ts',
  cost_usd: 'toFloat64(cost_usd) AS x_cost_usd',
  status: 'toString(status) AS x_status',
}
const TEXT_FIELDS = new Set<keyof RequestEvent>(['request_text', 'response_text'])
/**
 * Columns read back as a RequestEvent, in SELECT order: the SQL expression and the event field it fills,
 * for every column the insert writes (row-binary.ts `REQUEST_ROW_COLUMNS`) but the texts, which follow
 * (`TEXTS`). Rows come as JSONCompactEachRow arrays and are built by position: JSONEachRow repeated every
 * key in every row (~1 KB a row of these events) and the rows were then copied with a rest spread; on
 * 38,400 stored events this read took ~1.0 s instead of ~1.7 s (engine + JSON + objects). Computed
 * columns get `x_` aliases: an alias equal to a column name (ts) would replace that column in WHERE and
 * ORDER BY.
 */
const READ_COLUMNS = REQUEST_ROW_COLUMNS.filter(([f]) => !TEXT_FIELDS.has(f)).map(
  ([f]) => [READ_AS[f] ?? f, f] as const,
)
/** Fields whose JSON value is a quoted 64-bit number or a number to keep as one (instants, cost). */
const NUMERIC = new Set<keyof RequestEvent>(['ts', 'end_ts', 'cost_usd'])
const TEXTS = {
  all: 'request_text, response_text',
  // the texts are most of a row and no detector reads them
  detection: "'' AS x_request_text, '' AS x_response_text",
}
const FIELDS = [...READ_COLUMNS.map(([, f]) => f), 'request_text', 'response_text'] as const
const IS_NUMERIC = FIELDS.map((f) => NUMERIC.has(f))
const SELECT_COLUMNS = READ_COLUMNS.map(([sql]) => sql).join(', ')

/**
 * A RequestEvent from one JSONCompactEachRow row of `SELECT_COLUMNS` and the texts: one object literal
 * with every field in `FIELDS` order, compiled once from `FIELDS` (so it cannot drift from the SELECT).
 * Objects built key by key in a loop took ~6 us each (dictionary-like shapes); the literal ~0.8 us
 * (40,000 rows of 35 fields: 250-290 ms against ~30 ms, Node 20).
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the body is built from FIELDS, constants
const eventFromRow = new Function(
  'row',
  `return {${FIELDS.map((f, i) => `${JSON.stringify(f)}: ${IS_NUMERIC[i] ? `Number(row[${i}])` : `row[${i}]`}`).join(', ')}}`,
) as (row: readonly unknown[]) => RequestEvent

/** Where a page starts: at `ts` (no `id`), at the event (`ts`, `id`) (`from`), or just after it. */
type Cursor = { ts: number; id: string | null; from?: boolean }

/**
 * Events with `ts` in [fromTs, toTs), in event-time order, in pages of `pageSize` (with `opts.newest`, only
 * the newest that many). Used to rebuild detector state after a restart and to replay history.
 *
 * Each page reads a time window `[cursor, hi)` with plain bounds on `ts` (daily partitions and the
 * `ts` index prune on them; a tuple comparison `(ts, event_id) > (...)` prunes nothing), sorted and cut
 * at `pageSize`; the first window is sized from a count of the range (the whole range when it fits in a
 * page), the window grows while pages come back sparse and the next page starts just after the last event
 * read, so every event comes exactly once.
 */
export async function* readEvents(
  client: ClickHouseClient,
  database: string,
  fromTs: number,
  toTs: number,
  pageSize = 10_000,
  opts: ReadEventsOptions = {},
): AsyncGenerator<RequestEvent[]> {
  const columns = `${SELECT_COLUMNS}, ${TEXTS[opts.columns ?? 'all']}`
  const agents = agentsFilter(opts)
  let cursor: Cursor = { ts: fromTs, id: null }
  if (opts.newest !== undefined && opts.newest <= 0) return
  // how many events the range holds sizes the first window (one read when they fit in a page; the window
  // still grows or is cut by the page size after it) and, with `newest`, says whether to skip any
  const total = await countRange(client, database, fromTs, toTs, agents)
  if (total === 0) return
  let count = total
  if (opts.newest !== undefined && total > opts.newest) {
    cursor = await newestStart(client, database, fromTs, toTs, opts.newest, agents)
    count = opts.newest
  }
  const range = toTs - cursor.ts
  // else a window of about half a page at the range's mean density (a window read whole and then cut
  // at the page size would read rows only to drop them)
  let span = count <= pageSize ? range : Math.max(60_000, Math.ceil((range * pageSize) / count / 2))
  while (cursor.ts < toTs) {
    const hi = Math.min(toTs, cursor.ts + span)
    const after =
      cursor.id === null
        ? ''
        : `AND (ts > fromUnixTimestamp64Milli({ts:Int64}, 'UTC') OR event_id ${cursor.from ? '>=' : '>'} {id:String})`
    const rs = await client.query({
      query: `SELECT ${columns} FROM ${database}.requests
WHERE ts >= fromUnixTimestamp64Milli({ts:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({hi:Int64}, 'UTC') ${after}${agents.sql}
ORDER BY ts, event_id
LIMIT {limit:UInt32}`,
      query_params: { ts: cursor.ts, id: cursor.id ?? '', hi, limit: pageSize, ...agents.params },
      format: 'JSONCompactEachRow',
    })
    const page = (await rs.json<unknown[]>()).map(eventFromRow)
    if (page.length > 0) yield page
    if (page.length === pageSize) {
      const last = page[page.length - 1]!
      cursor = { ts: last.ts, id: last.event_id }
      continue
    }
    // the window is read to its end
    cursor = { ts: hi, id: null }
    if (page.length < pageSize / 4) span *= 2
  }
}

/** The SQL condition (and its parameters) of `ReadEventsOptions.onlyAgents` (core/ports `isAgentEvent`). */
function agentsFilter(opts: ReadEventsOptions): { sql: string; params: Record<string, unknown> } {
  if (!opts.onlyAgents) return { sql: '', params: {} }
  return {
    sql: `
  AND (agent != '' OR (api_key_hash != '' AND has({agent_keys:Array(String)}, api_key_hash))
    OR (api_key_alias != '' AND has({agent_keys:Array(String)}, api_key_alias)))`,
    params: { agent_keys: [...opts.onlyAgents.agentKeys] },
  }
}

/** `ts` in [{from}, {to}) (epoch ms parameters). */
const TS_FROM_TO = `ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`

/** Events with `ts` in [fromTs, toTs) that match `agents`: reads only the `ts` column (and the filter's). */
async function countRange(
  client: ClickHouseClient,
  database: string,
  fromTs: number,
  toTs: number,
  agents: { sql: string; params: Record<string, unknown> },
): Promise<number> {
  const rs = await client.query({
    query: `SELECT count() AS n FROM ${database}.requests
WHERE ${TS_FROM_TO}${agents.sql}`,
    query_params: { from: fromTs, to: toTs, ...agents.params },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ n: string | number }>()
  return Number(row?.n ?? 0)
}

/** Where the newest `n` events of [fromTs, toTs) begin (the range start when there are fewer). */
async function newestStart(
  client: ClickHouseClient,
  database: string,
  fromTs: number,
  toTs: number,
  n: number,
  agents: { sql: string; params: Record<string, unknown> },
): Promise<Cursor> {
  // only ts and event_id, newest first, the n-th one: where the kept events begin
  const rs = await client.query({
    query: `SELECT toUnixTimestamp64Milli(ts) AS x_ts, event_id FROM ${database}.requests
WHERE ${TS_FROM_TO}${agents.sql}
ORDER BY ts DESC, event_id DESC
LIMIT 1 OFFSET {skip:UInt64}`,
    query_params: { from: fromTs, to: toTs, skip: n - 1, ...agents.params },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ x_ts: string | number; event_id: string }>()
  if (!row) return { ts: fromTs, id: null } // fewer than n: all of them
  return { ts: Number(row.x_ts), id: row.event_id, from: true }
}
