import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { queryCost } from '../../adapters/clickhouse/cost-query.js'
import { clickHouseEventStore } from '../../adapters/clickhouse/store.js'
import {
  ATTRIBUTE_DIMENSIONS,
  CostQuery,
  type AttributeDimension,
  type CostAnswer,
  type CostRow,
} from '../../schemas/api.js'
import { Config, WriterConfig } from '../../schemas/config.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { MINUTE_ROLLUP_TTL_DAYS } from '../../schemas/migrations/003-spend-rollups.js'
import { costApi } from '../../services/cost/cost-api.js'
import { BatchWriter } from '../../services/ingest/batch-writer.js'
import { start, type Running } from '../../services/start.js'
import { round10 } from '../support/events.js'
import { ANCHOR, seedEvents } from '../support/spend-seed.js'
import { freshStore, silentLog, testDataDir } from '../support/store.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** 09:17 UTC the day after the seeded range ends: "yesterday" is the seed's last (half) day. */
const NOW = ANCHOR + 4 * DAY + 9 * HOUR + 17 * 60_000
const events = seedEvents()
let store: StoreClient
let gw: Running

before(async () => {
  store = await freshStore('costapi')
  const writer = new BatchWriter(
    clickHouseEventStore(store),
    WriterConfig.parse({ max_batch_wait_ms: 5 }),
    silentLog,
  )
  assert.equal((await writer.submit(events, [])).stored, events.length)
  await writer.shutdown()
  // the same database served by a whole Gatewarden, its clock fixed at NOW
  gw = await start(
    Config.parse({ server: { port: 0 }, store: { data_dir: testDataDir(), database: store.database } }),
    silentLog,
    () => NOW,
  )
})
after(async () => {
  await gw?.stop()
  await store?.client.close()
})

// the two-read path (rows, then the total with group_by []); the server above answers with one read
const api = costApi(
  { cost: (q, plan) => queryCost(store.client, store.database, q, plan) },
  () => NOW,
  MINUTE_ROLLUP_TTL_DAYS,
)
async function cost(query: Record<string, string>): Promise<CostAnswer> {
  const out = await api(CostQuery.parse(query))
  assert.ok(!('error' in out), JSON.stringify(out))
  return out
}

/** The value of a dimension on a seeded event (`key` = the hash). */
const valueOf = (e: RequestEvent, d: AttributeDimension): string =>
  d === 'key' ? e.api_key_hash : (e[d as keyof RequestEvent] as string)

/** Sums of the seeded events in [fromMs, toMs) that `keep` keeps, computed here, independently of the store. */
function expected(fromMs: number, toMs: number, keep: (e: RequestEvent) => boolean = () => true) {
  const es = events.filter((e) => e.ts >= fromMs && e.ts < toMs && keep(e))
  return {
    cost_usd: round10(es.reduce((a, e) => a + e.cost_usd, 0)),
    requests: es.length,
    failures: es.filter((e) => e.status === 'failure').length,
    input_tokens: es.reduce((a, e) => a + e.input_tokens, 0),
    output_tokens: es.reduce((a, e) => a + e.output_tokens, 0),
    cached_tokens: es.reduce((a, e) => a + e.cached_tokens, 0),
  }
}
const sums = (r: CostRow) => ({
  cost_usd: round10(r.cost_usd),
  requests: r.requests,
  failures: r.failures,
  input_tokens: r.input_tokens,
  output_tokens: r.output_tokens,
  cached_tokens: r.cached_tokens,
})

test('every attribution dimension groups and filters; each row and each filtered total equal the seeded sums', async () => {
  const all = await cost({ period: 'last_7d' })
  assert.equal(all.from, new Date(ANCHOR - 3 * DAY).toISOString())
  assert.deepEqual(sums(all.total), expected(ANCHOR - 3 * DAY, ANCHOR + 4 * DAY))
  for (const d of ATTRIBUTE_DIMENSIONS) {
    const grouped = await cost({ period: 'last_7d', group_by: d })
    const values = [...new Set(events.map((e) => valueOf(e, d)))]
    assert.equal(grouped.rows.length, values.length, `${d}: one row per value`)
    for (const r of grouped.rows)
      assert.deepEqual(
        sums(r),
        expected(0, NOW, (e) => valueOf(e, d) === r[d]),
        `${d}=${String(r[d])}`,
      )
    // filter on the second most expensive value (not ''), grouped by another dimension
    const v = String(grouped.rows.find((r, i) => i > 0 && r[d] !== '')![d])
    const filtered = await cost({ period: 'last_7d', group_by: d === 'model' ? 'provider' : 'model', [d]: v })
    assert.deepEqual(
      sums(filtered.total),
      expected(0, NOW, (e) => valueOf(e, d) === v),
      `${d} filter`,
    )
    assert.deepEqual(sums({ ...filtered.total, ...sumOf(filtered.rows) }), sums(filtered.total))
  }
})

function sumOf(rows: CostRow[]) {
  return {
    cost_usd: rows.reduce((a, r) => a + r.cost_usd, 0),
    requests: rows.reduce((a, r) => a + r.requests, 0),
    failures: rows.reduce((a, r) => a + r.failures, 0),
    input_tokens: rows.reduce((a, r) => a + r.input_tokens, 0),
    output_tokens: rows.reduce((a, r) => a + r.output_tokens, 0),
    cached_tokens: rows.reduce((a, r) => a + r.cached_tokens, 0),
  }
}

test('top=N: N rows, then one (other) row holding the rest; rows add up to the total', async () => {
  const full = await cost({ period: 'last_7d', group_by: 'customer,model' })
  assert.ok(full.rows.length > 5)
  const top = await cost({ period: 'last_7d', group_by: 'customer,model', top: '3' })
  assert.equal(top.rows.length, 4)
  assert.deepEqual(top.rows.slice(0, 3), full.rows.slice(0, 3))
  const other = top.rows[3]!
  assert.deepEqual([other.customer, other.model], ['(other)', '(other)'])
  assert.deepEqual(sums(other), sums({ ...other, ...sumOf(full.rows.slice(3)) }))
  assert.deepEqual(sums({ ...top.total, ...sumOf(top.rows) }), sums(top.total))
  assert.deepEqual(top.total, full.total)
})

test('compare=previous: each row gains the previous day, the total the whole previous day', async () => {
  const out = await cost({ period: 'yesterday', group_by: 'customer', compare: 'previous' })
  const [from, to, pfrom, pto] = [ANCHOR + 3 * DAY, ANCHOR + 4 * DAY, ANCHOR + 2 * DAY, ANCHOR + 3 * DAY]
  assert.deepEqual([out.from, out.to], [new Date(from).toISOString(), new Date(to).toISOString()])
  assert.deepEqual(out.previous, {
    from: new Date(pfrom).toISOString(),
    to: new Date(pto).toISOString(),
    source: 'spend_by_hour',
  })
  assert.ok(out.rows.length >= 5)
  for (const r of out.rows) {
    const prev = expected(pfrom, pto, (e) => e.customer === r.customer).cost_usd
    assert.equal(round10(r.previous_cost_usd as number), prev, `customer ${String(r.customer)}`)
    assert.equal(round10(r.delta_usd as number), round10(r.cost_usd - prev))
    assert.equal(r.delta_pct, Math.round(((r.cost_usd - prev) / prev) * 1e4) / 1e2)
  }
  assert.equal(out.total.previous_cost_usd, expected(pfrom, pto).cost_usd)
  assert.equal(out.total.cost_usd, expected(from, to).cost_usd)
})

test('periods resolve in the time zone: New York from the hourly rollup, Kolkata (+05:30) from the minute rollup', async () => {
  const ny = await cost({ period: 'yesterday', timezone: 'America/New_York' })
  const nyFrom = Date.parse(ny.from)
  assert.equal(new Date(nyFrom).getUTCHours() % 24 === 4 || new Date(nyFrom).getUTCHours() === 5, true)
  assert.equal(ny.source, 'spend_by_hour')
  assert.deepEqual(sums(ny.total), expected(nyFrom, Date.parse(ny.to)))
  const kol = await cost({ period: 'last_7d', timezone: 'Asia/Kolkata', group_by: 'day' })
  assert.equal(new Date(kol.from).getUTCMinutes(), 30)
  assert.equal(kol.source, 'spend_by_minute')
  assert.deepEqual(sums(kol.total), expected(Date.parse(kol.from), Date.parse(kol.to)))
})

test('GET /api/cost: old parameters answer as before, plus a total; CSV holds the same rows', async () => {
  const from = new Date(ANCHOR).toISOString()
  const to = new Date(ANCHOR + DAY).toISOString()
  const res = await gw.app.inject({
    method: 'GET',
    url: `/api/cost?group_by=customer,key&from=${from}&to=${to}&limit=3`,
  })
  assert.equal(res.statusCode, 200)
  const body = res.json<CostAnswer>()
  const direct = await queryCost(
    store.client,
    store.database,
    CostQuery.parse({ group_by: 'customer,key', from, to, limit: '3' }),
    {
      fromMs: ANCHOR,
      toMs: ANCHOR + DAY,
      source: 'spend_by_hour',
    },
  )
  assert.deepEqual(body.rows, direct)
  assert.deepEqual(sums(body.total), expected(ANCHOR, ANCHOR + DAY))
  assert.deepEqual([body.from, body.to, body.source], [from, to, 'spend_by_hour'])

  const csv = await gw.app.inject({
    method: 'GET',
    url: `/api/cost?group_by=customer&period=yesterday&compare=previous&top=2&format=csv`,
  })
  assert.equal(csv.statusCode, 200)
  assert.match(String(csv.headers['content-type']), /^text\/csv/)
  const json = await gw.app.inject({
    method: 'GET',
    url: `/api/cost?group_by=customer&period=yesterday&compare=previous&top=2`,
  })
  const lines = csv.body.trimEnd().split('\r\n')
  assert.equal(
    lines[0],
    'customer,cost_usd,requests,failures,input_tokens,output_tokens,cached_tokens,previous_cost_usd,delta_usd,delta_pct',
  )
  const jrows = json.json<CostAnswer>().rows
  assert.equal(lines.length, 1 + jrows.length)
  assert.equal(lines.at(-1)!.split(',')[0], '(other)')
  for (const [i, r] of jrows.entries()) {
    const cells = lines[i + 1]!.split(',')
    assert.equal(Number(cells[1]), r.cost_usd)
    assert.equal(Number(cells[7]), r.previous_cost_usd)
  }
})

test('bad cost queries answer 400 naming the parameter', async () => {
  for (const [url, pattern] of [
    ['/api/cost?period=fortnight', /period/],
    ['/api/cost?period=today&from=2026-11-01', /either period or from\/to/],
    ['/api/cost?period=today&timezone=Mars/Olympus', /timezone: unknown time zone/],
    ['/api/cost?top=0', /top/],
    ['/api/cost?compare=next', /compare/],
    ['/api/cost?format=xml', /format/],
    ['/api/cost?group_by=planet', /group_by/],
  ] as const) {
    const res = await gw.app.inject({ method: 'GET', url })
    assert.equal(res.statusCode, 400, url)
    assert.match(res.json<{ error: { message: string } }>().error.message, pattern, url)
  }
})
