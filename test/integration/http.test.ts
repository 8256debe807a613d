import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { Config } from '../../schemas/config.js'
import type { Failpoints } from '../../core/failpoints.js'
import { failpointsFromEnv, processFailpoints } from '../../services/failpoints.js'
import { start, type Running } from '../../services/start.js'
import { litellmPayload } from '../support/events.js'
import { decimalUnits } from '../support/kafka-spend.js'
import { fixture } from '../support/paths.js'
import { rows, silentLog, testDataDir } from '../support/store.js'

const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop()
})

let n = 0
async function gatewarden(
  overrides: Record<string, unknown> = {},
  now?: () => number,
  failpoints?: Failpoints,
): Promise<Running> {
  const base = {
    server: { port: 0 },
    store: { data_dir: testDataDir(), database: `http_${process.pid}_${++n}` },
    writer: { max_batch_wait_ms: 5 },
  }
  const merged = {
    ...base,
    ...overrides,
    server: { ...base.server, ...(overrides.server as object) },
    store: { ...base.store, ...(overrides.store as object) },
    writer: { ...base.writer, ...(overrides.writer as object) },
  }
  const r = await start(Config.parse(merged), silentLog, now, failpoints ? { failpoints } : {})
  running.push(r)
  return r
}
const json = { 'content-type': 'application/json' }
const ts = Date.parse('2026-11-24T12:00:00Z')

test('mixed valid and invalid items: valid ones stored, invalid ones dead-lettered with reasons', async () => {
  const gw = await gatewarden()
  const body = [
    litellmPayload({ id: 'ok-1', customer: 'acme', cost: 0.5, ts }),
    { ...litellmPayload({ id: 'bad-cost', customer: 'acme', ts }), response_cost: -1 },
    litellmPayload({ id: 'ok-2', customer: 'globex', cost: 0.25, ts }),
    'not an object',
    { ...litellmPayload({ id: 'bad-ts', ts }), startTime: 'yesterday' },
  ]
  const res = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: JSON.stringify(body),
  })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { accepted: 2, rejected: 3, duplicates: 0 })
  const dl = await rows<{ reason: string; origin: string; raw: string }>(
    gw.store,
    'SELECT reason, origin, raw FROM {{db}}.dead_letters ORDER BY origin',
  )
  assert.equal(dl.length, 3)
  assert.match(dl[0]!.reason, /response_cost is negative/)
  assert.match(dl[0]!.origin, /item 1$/)
  assert.match(dl[1]!.reason, /invalid payload/)
  assert.match(dl[2]!.reason, /startTime/)
  assert.ok(dl[0]!.raw.includes('bad-cost'), 'raw input kept')
  const listed = await gw.app.inject({ method: 'GET', url: '/api/dead-letters?limit=10' })
  assert.equal(listed.json<{ dead_letters: unknown[] }>().dead_letters.length, 3)
  const cost = await gw.app.inject({
    method: 'GET',
    url: '/api/cost?group_by=customer&from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z',
  })
  assert.deepEqual(
    cost
      .json<{ rows: Array<{ customer: string; cost_usd: number }> }>()
      .rows.map((r) => [r.customer, r.cost_usd]),
    [
      ['acme', 0.5],
      ['globex', 0.25],
    ],
  )
})

test('NDJSON body, single object, gzip, and the real fixtures', async () => {
  const gw = await gatewarden()
  const nd = [
    litellmPayload({ id: 'nd-1', customer: 'a', cost: 1, ts }),
    litellmPayload({ id: 'nd-2', customer: 'a', cost: 2, ts }),
  ]
    .map((p) => JSON.stringify(p))
    .join('\n')
  const r1 = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: { 'content-type': 'application/x-ndjson' },
    payload: `${nd}\n{broken\n`,
  })
  assert.deepEqual(r1.json(), { accepted: 2, rejected: 1, duplicates: 0 })
  const r2 = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: JSON.stringify(litellmPayload({ id: 'single', customer: 'a', cost: 4, ts })),
  })
  assert.deepEqual(r2.json(), { accepted: 1, rejected: 0, duplicates: 0 })
  const gz = gzipSync(JSON.stringify([litellmPayload({ id: 'gz', customer: 'a', cost: 8, ts })]))
  const r3 = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: { ...json, 'content-encoding': 'gzip' },
    payload: gz,
  })
  assert.deepEqual(r3.json(), { accepted: 1, rejected: 0, duplicates: 0 })
  const fx = [
    fixture('litellm/standard-logging-payload-success.json'),
    fixture('litellm/standard-logging-payload-failure.json'),
  ]
  const r4 = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: JSON.stringify(fx),
  })
  assert.deepEqual(r4.json(), { accepted: 2, rejected: 0, duplicates: 0 })
  const [sum] = await rows<{ c: number }>(
    gw.store,
    "SELECT toFloat64(sum(cost_usd)) c FROM {{db}}.requests WHERE customer = 'a'",
  )
  assert.equal(sum!.c, 15)
  const fxCost = await gw.app.inject({
    method: 'GET',
    url: '/api/cost?group_by=customer,model&from=2025-02-01&to=2025-03-01',
  })
  assert.deepEqual(fxCost.json<{ rows: unknown[] }>().rows, [
    {
      customer: 'cust_4711',
      model: 'gpt-4o',
      cost_usd: 0.0021125,
      requests: 2,
      failures: 1,
      input_tokens: 425,
      output_tokens: 105,
      cached_tokens: 0,
    },
  ])
})

test('a 1,500-char customer and a 1,100-char tag are cut, not dead-lettered: the call is stored with its cost and counted', async () => {
  const gw = await gatewarden()
  const longCustomer = litellmPayload({ id: 'long-c', customer: 'c'.repeat(1500), cost: 0.75, ts })
  const longTag = {
    ...litellmPayload({ id: 'long-t', customer: 'acme', cost: 0.25, ts }),
    request_tags: ['prod', 't'.repeat(1100)],
  }
  const post = () =>
    gw.app.inject({
      method: 'POST',
      url: '/ingest/litellm',
      headers: json,
      payload: JSON.stringify([longCustomer, longTag]),
    })
  const res = await post()
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { accepted: 2, rejected: 0, duplicates: 0 })
  const stored = await rows<{ event_id: string; customer: string; cost_usd: number; tags: string[] }>(
    gw.store,
    'SELECT event_id, customer, cost_usd, tags FROM {{db}}.requests ORDER BY event_id',
  )
  assert.deepEqual(
    stored.map((r) => [r.event_id, r.customer.length, r.customer.endsWith('…'), r.cost_usd]),
    [
      ['long-c', 1024, true, 0.75],
      ['long-t', 4, false, 0.25],
    ],
  )
  assert.equal(stored[1]!.tags[1]!.length, 1024)
  const [dl] = await rows<{ n: string }>(gw.store, 'SELECT count() AS n FROM {{db}}.dead_letters')
  assert.equal(Number(dl!.n), 0)
  const m = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(m, /gatewarden_values_truncated_total\{source="litellm_http"[^}]*\} 2/)
  // a redelivery is acknowledged as duplicates, not accepted again
  assert.deepEqual((await post()).json(), { accepted: 0, rejected: 0, duplicates: 2 })
})

test('a body that is not JSON gets 400; over the limit gets 413; wrong encoding 415; nothing is stored', async () => {
  const gw = await gatewarden({ server: { body_limit_bytes: 4096 } })
  const bad = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: '{"id": "x", ',
  })
  assert.equal(bad.statusCode, 400)
  assert.equal(bad.json().error.code, 'GW_BAD_REQUEST')
  assert.match(bad.json().error.message, /not valid JSON/)
  const scalar = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: '"hello"',
  })
  assert.equal(scalar.statusCode, 400)
  const big = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: JSON.stringify([{ pad: 'x'.repeat(5000) }]),
  })
  assert.equal(big.statusCode, 413)
  assert.equal(big.json().error.code, 'GW_BODY_TOO_LARGE')
  const bomb = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: { ...json, 'content-encoding': 'gzip' },
    payload: gzipSync(Buffer.alloc(100_000, 32)),
  })
  assert.equal(bomb.statusCode, 413)
  assert.equal(bomb.json().error.code, 'GW_BODY_TOO_LARGE')
  const br = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: { ...json, 'content-encoding': 'br' },
    payload: 'x',
  })
  assert.equal(br.statusCode, 415)
  assert.equal(br.json().error.code, 'GW_UNSUPPORTED_MEDIA_TYPE')
  const [c] = await rows<{ n: string }>(
    gw.store,
    'SELECT (SELECT count() FROM {{db}}.requests) + (SELECT count() FROM {{db}}.dead_letters) AS n',
  )
  assert.equal(Number(c!.n), 0)
})

test('bearer token guards /ingest and /api, not /healthz or /metrics', async () => {
  const token = 'test-token-0123456789'
  const gw = await gatewarden({ server: { auth_token: token } })
  const body = JSON.stringify([litellmPayload({ id: 'auth-1', customer: 'a', ts })])
  assert.equal(
    (await gw.app.inject({ method: 'POST', url: '/ingest/litellm', headers: json, payload: body }))
      .statusCode,
    401,
  )
  assert.equal(
    (
      await gw.app.inject({
        method: 'POST',
        url: '/ingest/litellm',
        headers: { ...json, authorization: 'Bearer wrong-token-000000' },
        payload: body,
      })
    ).statusCode,
    401,
  )
  assert.equal((await gw.app.inject({ method: 'GET', url: '/api/cost' })).statusCode, 401)
  const ok = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: { ...json, authorization: `Bearer ${token}` },
    payload: body,
  })
  assert.equal(ok.statusCode, 200)
  assert.equal(
    (await gw.app.inject({ method: 'GET', url: '/api/cost', headers: { authorization: `Bearer ${token}` } }))
      .statusCode,
    200,
  )
  assert.equal((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  assert.equal((await gw.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200)
})

test('cost API: current month by default, validation errors name the parameter', async () => {
  const now = Date.parse('2026-11-26T10:00:00Z')
  const gw = await gatewarden({}, () => now)
  const body = [
    litellmPayload({ id: 'm-1', customer: 'acme', cost: 1, ts: Date.parse('2026-11-03T10:00:00Z') }),
    litellmPayload({ id: 'm-2', customer: 'acme', cost: 2, ts: Date.parse('2026-10-31T23:59:59Z') }),
    litellmPayload({ id: 'm-3', customer: '', cost: 0.5, ts: Date.parse('2026-11-20T10:00:00Z') }),
  ]
  await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: JSON.stringify(body),
  })
  const res = await gw.app.inject({ method: 'GET', url: '/api/cost?group_by=customer' })
  const out = res.json<{ rows: Array<{ customer: string; cost_usd: number }>; from: string; to: string }>()
  assert.equal(out.from, '2026-11-01T00:00:00.000Z')
  assert.equal(out.to, '2026-12-01T00:00:00.000Z')
  assert.deepEqual(
    out.rows.map((r) => [r.customer, r.cost_usd]),
    [
      ['acme', 1],
      ['', 0.5],
    ],
  )
  const filtered = await gw.app.inject({
    method: 'GET',
    url: '/api/cost?group_by=customer,day&customer=acme&from=2026-10-01&to=2026-12-01',
  })
  assert.deepEqual(
    filtered
      .json<{ rows: Array<{ day: string }> }>()
      .rows.map((r) => r.day)
      .sort(),
    ['2026-10-31', '2026-11-03'],
  )
  for (const [url, re] of [
    ['/api/cost?group_by=planet', /group_by/],
    ['/api/cost?from=last-tuesday', /from/],
    ['/api/cost?from=2026-11-02&to=2026-11-01', /must be after/],
    ['/api/cost?colour=blue', /colour|Unrecognized/i],
  ] as const) {
    const r = await gw.app.inject({ method: 'GET', url })
    assert.equal(r.statusCode, 400, url)
    assert.match(r.json().error.message, re, url)
  }
})

test('healthz and metrics report the pipeline', async () => {
  const gw = await gatewarden()
  await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: JSON.stringify([litellmPayload({ id: 'mt-1', ts }), { id: 'mt-bad' }]),
  })
  const h = await gw.app.inject({ method: 'GET', url: '/healthz' })
  assert.deepEqual(h.json(), { ok: true, store: 'ok', store_kind: 'embedded', pending_rows: 0 })
  const m = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(m, /gatewarden_events_accepted_total\{source="litellm_http"[^}]*\} 1/)
  assert.match(m, /gatewarden_events_dead_lettered_total\{source="litellm_http"[^}]*\} 1/)
  assert.match(m, /gatewarden_batch_rows_count/)
  assert.match(m, /gatewarden_store_write_seconds_bucket/)
  assert.match(m, /gatewarden_pending_rows/)
  // a fresh embedded store: the filter of stored ids answers the batch's duplicate lookup alone
  assert.match(m, /gatewarden_dedupe_lookups_total\{how="skipped"[^}]*\} 1\n/)
  assert.match(m, /gatewarden_dedupe_ids_asked_total\{[^}]*\} 0\n/)
})

test('store down: the sender gets 503 with Retry-After, never a false ack', async () => {
  const gw = await gatewarden({ writer: { store_retry_deadline_ms: 300 } })
  await gw.store.client.close()
  const res = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: JSON.stringify([litellmPayload({ id: 'down-1', ts })]),
  })
  assert.equal(res.statusCode, 503)
  assert.equal(res.headers['retry-after'], '5')
  assert.equal(res.json().error.code, 'GW_STORE_UNAVAILABLE')
  const h = await gw.app.inject({ method: 'GET', url: '/healthz' })
  assert.equal(h.statusCode, 503)
})

/** The registry `GATEWARDEN_FAILPOINTS=spec` arms in `gatewarden start`. */
const armed = (spec: string) =>
  processFailpoints(failpointsFromEnv({ GATEWARDEN_FAILPOINTS: spec }), silentLog)

test('a short store outage (store.insert=error(2)) is absorbed by the writer: 200, stored once', async () => {
  const fp = armed('store.insert=error(2)')
  const gw = await gatewarden({ writer: { store_retry_deadline_ms: 10_000 } }, undefined, fp)
  const res = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: JSON.stringify([litellmPayload({ id: 'blip-1', ts }), litellmPayload({ id: 'blip-2', ts })]),
  })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { accepted: 2, rejected: 0, duplicates: 0 })
  assert.equal(fp.hits('store.insert'), 3, 'two failed attempts, then the insert')
  const [r] = await rows<{ n: string }>(gw.store, 'SELECT toString(count()) AS n FROM {{db}}.requests')
  assert.equal(r?.n, '2')
})

test('a store outage past the retry deadline (store.insert=error(6)): 503 + Retry-After, nothing half-stored; resent, everything acked is stored exactly once', async () => {
  // deadline 300 ms: backoff waits at least 50 + 100 + 200 ms, so one submission makes 2 or 3 attempts;
  // 6 injected errors refuse the first submission for sure, and at most 3 submissions in all
  const fp = armed('store.insert=error(6)')
  const gw = await gatewarden({ writer: { store_retry_deadline_ms: 300 } }, undefined, fp)
  const batches = [0, 1, 2].map((b) =>
    Array.from({ length: 50 }, (_, i) =>
      litellmPayload({ id: `outage-${b}-${i}`, customer: `c-${i % 3}`, cost: (i + 1) / 1e4, ts: ts + i }),
    ),
  )
  const answers: number[] = []
  for (const batch of batches) {
    for (let attempt = 1; ; attempt++) {
      assert.ok(attempt <= 10, `batch not accepted after 10 sends; answers ${answers.join(',')}`)
      const res = await gw.app.inject({
        method: 'POST',
        url: '/ingest/litellm',
        headers: json,
        payload: JSON.stringify(batch),
      })
      answers.push(res.statusCode)
      if (res.statusCode === 200) {
        // a refused attempt inserted nothing: the resend stores all of it, none as a duplicate
        assert.deepEqual(res.json(), { accepted: 50, rejected: 0, duplicates: 0 })
        break
      }
      assert.equal(res.statusCode, 503)
      assert.equal(res.headers['retry-after'], '5')
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'GW_STORE_UNAVAILABLE')
      // a real sender waits Retry-After; the outage here is counted in attempts, not time
    }
  }
  const refused = answers.filter((s) => s === 503).length
  assert.equal(answers[0], 503, `first submission refused (answers ${answers.join(',')})`)
  assert.ok(refused <= 3, `6 errors refuse at most 3 submissions (answers ${answers.join(',')})`)
  assert.equal(fp.hits('store.insert'), 6 + batches.length, 'the 6 errors, then one insert per batch')
  const metrics = await gw.app.inject({ method: 'GET', url: '/metrics' })
  assert.match(metrics.body, /gatewarden_store_retries_total\S* [1-9]/, 'the writer retried')

  const [r] = await rows<{ n: string; ids: string; cost: string }>(
    gw.store,
    'SELECT toString(count()) AS n, toString(uniqExact(event_id)) AS ids, toString(sum(cost_usd)) AS cost FROM {{db}}.requests',
  )
  const units = batches
    .flat()
    .reduce((u, p) => u + BigInt(Math.round((p.response_cost as number) * 1e10)), 0n)
  assert.deepEqual({ ...r, cost: decimalUnits(r!.cost) }, { n: '150', ids: '150', cost: units })
  const h = await gw.app.inject({ method: 'GET', url: '/healthz' })
  assert.equal(h.statusCode, 200)
})

test('alerts API: lists stored alerts with filters; silences can be created, listed and deleted', async () => {
  const now = Date.parse('2026-11-26T10:00:00Z')
  const gw = await gatewarden({}, () => now)
  const bad = await gw.app.inject({ method: 'GET', url: '/api/alerts?state=burning' })
  assert.equal(bad.statusCode, 400)
  assert.match(bad.json<{ error: { message: string } }>().error.message, /state/)
  assert.deepEqual((await gw.app.inject({ method: 'GET', url: '/api/alerts' })).json(), { alerts: [] })

  const create = await gw.app.inject({
    method: 'POST',
    url: '/api/silences',
    headers: json,
    payload: JSON.stringify({
      matcher: { type: 'loop', scope_id: 'key-1' },
      duration: '4h',
      comment: 'batch job',
      created_by: 'oncall',
    }),
  })
  assert.equal(create.statusCode, 201)
  const s = create.json<{ id: string; expires_at: string }>()
  assert.equal(s.expires_at, '2026-11-26T14:00:00.000Z')
  const listed = await gw.app.inject({ method: 'GET', url: '/api/silences' })
  assert.deepEqual(
    listed.json<{ silences: Array<{ id: string }> }>().silences.map((x) => x.id),
    [s.id],
  )
  for (const payload of [
    '{',
    JSON.stringify({ matcher: {}, duration: '1h' }),
    JSON.stringify({ matcher: { type: 'loop' } }),
  ]) {
    const r = await gw.app.inject({ method: 'POST', url: '/api/silences', headers: json, payload })
    assert.equal(r.statusCode, 400, payload)
  }
  assert.equal((await gw.app.inject({ method: 'DELETE', url: `/api/silences/${s.id}` })).statusCode, 204)
  const gone = await gw.app.inject({ method: 'DELETE', url: `/api/silences/${s.id}` })
  assert.equal(gone.statusCode, 404)
  assert.equal(gone.json().error.code, 'GW_NOT_FOUND')
  assert.deepEqual((await gw.app.inject({ method: 'GET', url: '/api/silences' })).json(), { silences: [] })
})

test('an event stamped more than a day ahead is dead-lettered, its neighbours stored', async () => {
  const now = Date.parse('2026-11-26T10:00:00Z')
  const gw = await gatewarden({}, () => now)
  const body = [
    litellmPayload({ id: 'future', ts: now + 3 * 86_400_000 }),
    litellmPayload({ id: 'present', ts: now - 1000 }),
  ]
  const res = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: json,
    payload: JSON.stringify(body),
  })
  assert.deepEqual(res.json(), { accepted: 1, rejected: 1, duplicates: 0 })
  const [dl] = await rows<{ reason: string }>(gw.store, 'SELECT reason FROM {{db}}.dead_letters')
  assert.match(dl!.reason, /ahead of the receiving clock/)
})
