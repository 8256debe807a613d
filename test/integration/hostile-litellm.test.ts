import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import { litellmPayload } from '../support/events.js'
import {
  assertClientError,
  deadLetterDiff,
  deepArray,
  deepObject,
  gzipBomb,
  invalidUtf8,
  storedIds,
} from '../support/hostile.js'
import { silentLog, testDataDir } from '../support/store.js'

/**
 * The hostile-input corpus of POST /ingest/litellm: every case answers a 4xx with a reason or a 200 with
 * the bad items dead-lettered under their GW_DL_* code; never a 5xx; the valid neighbours are stored.
 */
const LIMIT = 4 * 1024 * 1024
let gw: Running
let diff: () => Promise<string[]>
before(async () => {
  gw = await start(
    Config.parse({
      server: { port: 0, body_limit_bytes: LIMIT },
      store: { data_dir: testDataDir(), database: `hostile_litellm_${process.pid}` },
      writer: { max_batch_wait_ms: 5 },
    }),
    silentLog,
  )
  diff = deadLetterDiff(gw.store)
  await diff()
})
after(() => gw?.stop())

const NOW = Date.now()
let n = 0
/** A valid payload with a fresh id (returned too, to find it in the store). */
const valid = (o: Record<string, unknown> = {}) => {
  const id = `h-${process.pid}-${++n}`
  return { id, p: { ...litellmPayload({ id, customer: 'acme', cost: 0.01, ts: NOW - 3_600_000 }), ...o } }
}
const j = (v: unknown) => JSON.stringify(v)

interface Case {
  name: string
  body: string | Buffer
  headers?: Record<string, string>
  /** A 4xx (and the error code in its body), or a 200 with these dead-letter codes. */
  want: { status: number; code?: string } | { dead: string[]; accepted: number; duplicates?: number }
  /** Ids that MUST be stored after the case (the valid neighbours). */
  kept?: string[]
}

const cases: Case[] = []
const add = (c: Case) => cases.push(c)

add({
  name: 'truncated JSON array',
  body: '[{"id":"x","startTime":17',
  want: { status: 400, code: 'GW_BAD_REQUEST' },
})
add({ name: 'invalid JSON', body: '{id: nope}', want: { status: 400, code: 'GW_BAD_REQUEST' } })
add({ name: 'empty body', body: '', want: { status: 400, code: 'GW_BAD_REQUEST' } })
add({ name: 'JSON null', body: 'null', want: { status: 400, code: 'GW_BAD_REQUEST' } })
add({ name: 'JSON number', body: '42', want: { status: 400, code: 'GW_BAD_REQUEST' } })
add({
  name: 'NaN literal (not JSON)',
  body: '{"response_cost": NaN}',
  want: { status: 400, code: 'GW_BAD_REQUEST' },
})
{
  const [a, b] = [valid(), valid()]
  add({
    name: 'NDJSON: a truncated line between valid ones',
    body: [j(a.p), '{"id":"cut', j(b.p)].join('\n'),
    headers: { 'content-type': 'application/x-ndjson' },
    want: { dead: ['GW_DL_NOT_JSON'], accepted: 2 },
    kept: [a.id, b.id],
  })
}
add({
  name: 'deep nesting, 100k arrays (one item that is an array)',
  body: deepArray(100_000),
  want: { dead: ['GW_DL_NOT_OBJECT'], accepted: 0 },
})
{
  const a = valid()
  add({
    name: 'deep nesting inside an array item, next to a valid one',
    body: `[${j(a.p)},${deepArray(50_000)}]`,
    want: { dead: ['GW_DL_NOT_OBJECT'], accepted: 1 },
    kept: [a.id],
  })
}
{
  // built as text: JSON.stringify itself overflows on it
  const a = valid({ metadata: { deep: 'DEEP' } })
  add({
    name: 'deep nesting in metadata',
    body: j([a.p]).replace('"DEEP"', deepObject(50_000)),
    want: { dead: [], accepted: 1 },
    kept: [a.id],
  })
}
{
  const [ok, cost, tokens, start, status, meta] = [
    valid(),
    valid({ response_cost: 'abc' }),
    valid({ prompt_tokens: 'many' }),
    valid({ startTime: true }),
    valid({ status: 42 }),
    valid({ metadata: 5 }),
  ]
  add({
    name: 'wrong types in each field',
    body: j([ok.p, cost.p, tokens.p, start.p, status.p, meta.p]),
    want: {
      // a token count that is not a number, a boolean start time, a numeric status, metadata a number
      dead: ['GW_DL_BAD_NUMBER', 'GW_DL_INVALID', 'GW_DL_INVALID', 'GW_DL_INVALID', 'GW_DL_INVALID'],
      accepted: 1,
    },
    kept: [ok.id],
  })
}
{
  const [s, t, m] = [
    valid({ end_user: 'c'.repeat(100_000) }),
    valid({ request_tags: Array.from({ length: 50_000 }, (_, i) => `t${i}`) }),
    valid({ metadata: { huge: 'v'.repeat(100_000) } }),
  ]
  add({
    name: 'huge strings and arrays are cut, the events kept',
    body: j([s.p, t.p, m.p]),
    want: { dead: [], accepted: 3 },
    kept: [s.id, t.id, m.id],
  })
}
{
  const [ok, neg, inf, nanStr, infStr, negTok] = [
    valid(),
    valid({ response_cost: -0.5 }),
    valid({ response_cost: Infinity }), // JSON.stringify writes null; the body says 1e999 (below)
    valid({ response_cost: 'NaN' }),
    valid({ response_cost: 'Infinity' }),
    valid({ prompt_tokens: -3 }),
  ]
  add({
    name: 'NaN, Infinity and negative numbers',
    body: j([ok.p, neg.p, inf.p, nanStr.p, infStr.p, negTok.p]).replace(
      '"response_cost":null',
      '"response_cost":1e999',
    ),
    want: {
      dead: ['GW_DL_BAD_NUMBER', 'GW_DL_BAD_NUMBER', 'GW_DL_BAD_NUMBER', 'GW_DL_BAD_NUMBER'],
      accepted: 2,
    },
    kept: [ok.id, negTok.id],
  })
}
{
  const sec = (NOW - 3_600_000) / 1000
  const [ms, us, ns, iso, future, old, huge] = [
    valid({ startTime: sec * 1000, endTime: sec * 1000 + 500 }),
    valid({ startTime: sec * 1e6, endTime: sec * 1e6 + 5e5 }),
    valid({ startTime: sec * 1e9, endTime: null }),
    valid({ startTime: new Date(NOW - 3_600_000).toISOString(), endTime: null }),
    valid({ startTime: Date.UTC(2099, 0, 1) / 1000, endTime: null }),
    valid({ startTime: Date.UTC(1990, 0, 1) / 1000, endTime: null }),
    valid({ startTime: 8.64e21, endTime: null }), // past what a Date can hold: was a RangeError (500)
  ]
  add({
    name: 'timestamps in s, ms, us, ns, ISO; in the future; before 2000; beyond any date',
    body: j([ms.p, us.p, ns.p, iso.p, future.p, old.p, huge.p]),
    want: { dead: ['GW_DL_BAD_TIME', 'GW_DL_BAD_TIME', 'GW_DL_FUTURE'], accepted: 4 },
    kept: [ms.id, us.id, ns.id, iso.id],
  })
}
{
  const a = valid({ end_user: 'MARK-utf8' })
  add({
    name: 'invalid UTF-8 bytes in a string: read as U+FFFD, kept',
    body: invalidUtf8(j([a.p]), 'MARK-utf8'),
    want: { dead: [], accepted: 1 },
    kept: [a.id],
  })
}
{
  const [ok, bad] = [valid(), valid({ end_user: 'lone\uD800' })]
  add({
    // stored as UTF-8, which cannot carry a lone surrogate: written as U+FFFD, the call and its cost kept
    name: 'a lone surrogate escape (\\ud800): stored as U+FFFD, both kept',
    body: j([ok.p, bad.p]),
    want: { dead: [], accepted: 2 },
    kept: [ok.id, bad.id],
  })
}
{
  const a = valid()
  add({
    name: 'duplicate ids in one body: stored once',
    body: j([a.p, a.p, a.p]),
    want: { dead: [], accepted: 1, duplicates: 2 },
    kept: [a.id],
  })
}
{
  const a = valid({ id: '', litellm_call_id: '' })
  add({ name: 'no id', body: j([a.p]), want: { dead: ['GW_DL_NO_ID'], accepted: 0 } })
}
add({
  name: 'gzip bomb (64 MiB of zeros)',
  body: gzipBomb(64),
  headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
  want: { status: 413, code: 'GW_BODY_TOO_LARGE' },
})
add({
  name: 'corrupt gzip',
  body: gzipSync(Buffer.from(j([valid().p]))).subarray(0, 20),
  headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
  want: { status: 400, code: 'GW_BAD_REQUEST' },
})
add({
  name: 'unknown content-encoding',
  body: 'xx',
  headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
  want: { status: 415 },
})
add({
  name: 'body over the limit',
  body: j([{ ...valid().p, pad: 'x'.repeat(LIMIT) }]),
  want: { status: 413 },
})
add({
  name: 'protobuf garbage on the JSON route',
  body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x00, 0x80]),
  headers: { 'content-type': 'application/octet-stream' },
  want: { status: 400, code: 'GW_BAD_REQUEST' },
})

for (const c of cases) {
  test(`hostile litellm: ${c.name}`, async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/ingest/litellm',
      headers: { 'content-type': 'application/json', ...c.headers },
      payload: c.body,
    })
    assert.ok(res.statusCode < 500, `5xx ${res.statusCode}: ${res.body.slice(0, 300)}`)
    if ('status' in c.want) {
      assert.equal(res.statusCode, c.want.status, res.body.slice(0, 300))
      assertClientError(res.statusCode, res.body, c.want.code)
      assert.deepEqual(await diff(), [], 'a refused body leaves no dead letter')
    } else {
      assert.equal(res.statusCode, 200, res.body.slice(0, 300))
      assert.deepEqual(res.json(), {
        accepted: c.want.accepted,
        rejected: c.want.dead.length,
        duplicates: c.want.duplicates ?? 0,
      })
      assert.deepEqual(await diff(), [...c.want.dead].sort())
    }
    if (c.kept) assert.deepEqual(await storedIds(gw.store, c.kept), [...c.kept].sort())
  })
}

test('after the corpus the service still answers and stores', async () => {
  const a = valid()
  const res = await gw.app.inject({ method: 'POST', url: '/ingest/litellm', payload: j([a.p]) })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(await storedIds(gw.store, [a.id]), [a.id])
  assert.equal((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
})
