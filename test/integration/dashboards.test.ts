import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { clickHouseEventStore } from '../../adapters/clickhouse/store.js'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { WriterConfig } from '../../schemas/config.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { BatchWriter } from '../../services/ingest/batch-writer.js'
import { freshStore, rows, silentLog } from '../support/store.js'
import { round10 } from '../support/events.js'
import { REPO_ROOT } from '../support/paths.js'
import {
  ALL,
  applyConditionalAll,
  expandQuery,
  panelIntervalMs,
  replaceVariables,
  stripComments,
  type ExpandContext,
  type VariableState,
  type VariableValue,
} from '../support/grafana-macros.js'
import { declaredMetricNames, unknownMetrics } from '../support/prometheus-panels.js'
import { ANCHOR, RENAME_AT, RENAMED_ALIAS, seedDeadLetters, seedEvents } from '../support/spend-seed.js'

// ---- the dashboard file, parsed (zod checks the shape Grafana needs) ----

const DatasourceRef = z.object({ type: z.string(), uid: z.string() })
const Target = z.object({
  refId: z.string(),
  rawSql: z.string().optional(),
  /** PromQL of a Prometheus target (budget gauges on /metrics). */
  expr: z.string().optional(),
  datasource: DatasourceRef.optional(),
})
interface Panel {
  id: number
  type: string
  title: string
  description?: string | undefined
  interval?: string | undefined
  targets?: z.infer<typeof Target>[] | undefined
  panels?: Panel[] | undefined
}
const Panel: z.ZodType<Panel> = z.lazy(() =>
  z.object({
    id: z.number().int(),
    type: z.string(),
    title: z.string().min(1),
    description: z.string().optional(),
    interval: z.string().optional(),
    targets: z.array(Target).optional(),
    panels: z.array(Panel).optional(),
  }),
)
const Variable = z.object({
  type: z.string(),
  name: z.string(),
  query: z.unknown().optional(),
  datasource: DatasourceRef.optional(),
  multi: z.boolean().optional(),
  includeAll: z.boolean().optional(),
  allValue: z.string().nullable().optional(),
  current: z.object({ value: z.union([z.string(), z.array(z.string())]).optional() }).optional(),
})
const Dashboard = z.object({
  uid: z.string(),
  title: z.string(),
  schemaVersion: z.number(),
  templating: z.object({ list: z.array(Variable) }),
  panels: z.array(Panel),
})

const dashboard = Dashboard.parse(
  JSON.parse(readFileSync(join(REPO_ROOT, 'dashboards', 'gatewarden-spend.json'), 'utf8')),
)
/** Every panel but rows, including those inside collapsed rows. */
const panels: Panel[] = dashboard.panels
  .flatMap((p) => [p, ...(p.panels ?? [])])
  .filter((p) => p.type !== 'row')
/** Panels on Prometheus (the per-budget gauges of /metrics): their metric names are checked, not run. */
const isPrometheus = (p: Panel) => (p.targets ?? []).every((t) => t.datasource?.type === 'prometheus')
const promPanels = panels.filter(isPrometheus)
const sqlPanels = panels.filter((p) => !isPrometheus(p))
const variables = dashboard.templating.list
const FILTERS = ['customer', 'team', 'model', 'endpoint', 'agent'] as const
type Filter = (typeof FILTERS)[number]

function panel(title: string): Panel {
  const p = panels.find((x) => x.title === title)
  assert.ok(p, `no panel titled "${title}"`)
  return p
}

// ---- the seeded store ----

const HOUR = 3_600_000
const DAY = 24 * HOUR
interface Range {
  fromMs: number
  toMs: number
}
/** Three whole days as Grafana sends an absolute range (the end rounded up to .999). */
const MAIN: Range = { fromMs: ANCHOR, toMs: ANCHOR + 3 * DAY - 1 }
/** Not on hour boundaries: the rollup counts the hours whose start lies in the range. */
const UNALIGNED: Range = { fromMs: ANCHOR + 10.5 * HOUR, toMs: ANCHOR + 29.25 * HOUR }
const EMPTY: Range = { fromMs: ANCHOR - 400 * DAY, toMs: ANCHOR - 399 * DAY }

const events = seedEvents()
const deadLetters = seedDeadLetters()
let store: StoreClient

before(async () => {
  store = await freshStore('dash')
  const writer = new BatchWriter(
    clickHouseEventStore(store),
    WriterConfig.parse({ max_batch_wait_ms: 5 }),
    silentLog,
  )
  // the repeated calls in a second batch, merges stopped: the rollup keeps rows with equal keys in two parts,
  // so a panel that reads it without sum() + GROUP BY gets wrong numbers here
  await store.client.command({ query: `SYSTEM STOP MERGES ${store.database}.spend_by_hour` })
  let stored = 0
  for (const again of [false, true]) {
    const r = await writer.submit(
      events.filter((e) => e.event_id.endsWith('-again') === again),
      deadLetters.filter((_, i) => i % 2 === Number(again)),
    )
    stored += r.stored
  }
  await writer.shutdown()
  assert.equal(stored, events.length)
  const [parts] = await rows<{ n: string; keys: string }>(
    store,
    `SELECT count() AS n, uniqExact(hour, customer, team, api_key_hash, api_key_alias, endpoint, agent, model_requested, model, provider) AS keys
FROM {{db}}.spend_by_hour`,
  )
  assert.ok(Number(parts!.n) > Number(parts!.keys), 'rollup rows with equal keys are left unmerged')
})
after(async () => {
  await store?.client.close()
})

// ---- running a panel as Grafana would ----

type Row = Record<string, string | number>
type Selection = Partial<Record<string, VariableValue>>

const optionCache = new Map<string, Record<string, string[]>>()

/** The options of every query variable for a range, by running the variables' own queries. */
async function optionsFor(range: Range): Promise<Record<string, string[]>> {
  const key = `${range.fromMs}-${range.toMs}`
  const cached = optionCache.get(key)
  if (cached) return cached
  const out: Record<string, string[]> = {}
  for (const v of variables.filter((x) => x.type === 'query')) {
    const ctx = context(range, {}, {}, 1000)
    const res = await rows<Row>(store, expandQuery(String(v.query), ctx))
    out[v.name] = res.map((r) => String(Object.values(r)[0]))
  }
  optionCache.set(key, out)
  return out
}

function context(
  range: Range,
  sel: Selection,
  options: Record<string, string[]>,
  maxDataPoints: number,
  minInterval?: string,
): ExpandContext {
  const states: Record<string, VariableState> = {}
  for (const v of variables) {
    if (v.type === 'datasource') continue
    if (v.type === 'constant') {
      states[v.name] = { value: v.name === 'database' ? store.database : String(v.query) }
      continue
    }
    const state: VariableState = { value: sel[v.name] ?? v.current?.value ?? ALL }
    if (options[v.name]) state.options = options[v.name]
    if (v.allValue) state.allValue = v.allValue
    states[v.name] = state
  }
  return {
    ...range,
    intervalMs: panelIntervalMs(range.fromMs, range.toMs, maxDataPoints, minInterval),
    variables: states,
  }
}

/** Every target of a panel, expanded and run; the rows of each. */
async function runPanel(p: Panel, sel: Selection = {}, range = MAIN, maxDataPoints = 1000): Promise<Row[][]> {
  const ctx = context(range, sel, await optionsFor(range), maxDataPoints, p.interval)
  const out: Row[][] = []
  for (const t of p.targets ?? []) {
    const sql = expandQuery(t.rawSql ?? '', ctx)
    try {
      out.push(await rows<Row>(store, sql))
    } catch (e) {
      throw new Error(`panel "${p.title}" target ${t.refId} failed:\n${sql}`, { cause: e })
    }
  }
  return out
}

async function panelRows(title: string, sel: Selection = {}, range = MAIN, maxDataPoints = 1000) {
  return (await runPanel(panel(title), sel, range, maxDataPoints))[0]!
}

// ---- expectations, computed from the seed alone ----

const sec = (ms: number) => Math.floor(ms / 1000)
const hourOf = (ms: number) => Math.floor(ms / HOUR) * HOUR
/** `$__timeFilter(hour)` on the rollup: the event's hour starts within [from, to] in whole seconds. */
const inHours = (r: Range) => (ms: number) =>
  hourOf(ms) >= sec(r.fromMs) * 1000 && hourOf(ms) <= sec(r.toMs) * 1000
/** `$__timeFilter(ts)` on raw rows: ts within [from, to] cut to whole seconds. */
const inRaw = (r: Range) => (ms: number) => ms >= sec(r.fromMs) * 1000 && ms <= sec(r.toMs) * 1000
const label = (v: string) => (v === '' ? '(none)' : v)
const num = (v: string | number | undefined) => Number(v)
const chTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ')

function selected(sel: Selection, skip: readonly Filter[] = []) {
  return (e: RequestEvent) =>
    FILTERS.every((f) => {
      const v = sel[f]
      if (skip.includes(f) || v === undefined || v === ALL || (Array.isArray(v) && v[0] === ALL)) return true
      return (Array.isArray(v) ? v : [v]).includes(label(e[f]))
    })
}
function inRange(range = MAIN, sel: Selection = {}, skip: readonly Filter[] = []) {
  return events.filter((e) => inHours(range)(e.ts) && selected(sel, skip)(e))
}
const spend = (es: RequestEvent[]) => round10(es.reduce((a, e) => a + e.cost_usd, 0))
function groupBy<K>(es: RequestEvent[], key: (e: RequestEvent) => K): Map<K, RequestEvent[]> {
  const m = new Map<K, RequestEvent[]>()
  for (const e of es) m.set(key(e), [...(m.get(key(e)) ?? []), e])
  return m
}
const sumOf = (es: RequestEvent[], f: (e: RequestEvent) => number) => es.reduce((a, e) => a + f(e), 0)

// ---- the checks, one per panel: a panel without one fails the structure test ----

const checks: Record<string, () => Promise<void>> = {
  'Total spend': async () => {
    const total = async (sel: Selection, range = MAIN) =>
      round10(num((await panelRows('Total spend', sel, range))[0]?.spend_usd))
    const all = await total({})
    assert.equal(all, spend(inRange()))
    assert.ok(all > 0)
    assert.notEqual(all, spend(events), 'the range excludes seeded events on both sides')
    assert.equal(await total({ customer: ['acme'] }), spend(inRange(MAIN, { customer: ['acme'] })))
    assert.ok((await total({ customer: ['acme'] })) < all)
    const two = { customer: ['globex', "o'reilly"] }
    assert.equal(await total(two), spend(inRange(MAIN, two)))
    // only the unattributed customer: not All (the plugin's $__conditionalAll treats a lone '' as All)
    const none = { customer: ['(none)'] }
    assert.equal(await total(none), spend(events.filter((e) => inHours(MAIN)(e.ts) && e.customer === '')))
    const combo = { customer: ['acme', '(none)'], model: ['gpt-4o'], endpoint: ['/chat'], team: ['(none)'] }
    assert.equal(await total(combo), spend(inRange(MAIN, combo)))
    assert.equal(await total({}, UNALIGNED), spend(inRange(UNALIGNED)))
    // $__timeFilter's end is inclusive: a range ending exactly on an hour also counts the hour starting there
    const edge = { fromMs: ANCHOR, toMs: ANCHOR + DAY }
    const day = events.filter((e) => e.ts >= edge.fromMs && e.ts < edge.toMs)
    assert.equal(await total({}, edge), spend(inRange(edge)))
    assert.ok((await total({}, edge)) > spend(day))
    assert.equal(await total({}, { ...edge, toMs: edge.toMs - 1 }), spend(day))
    assert.equal(await total({}, EMPTY), 0)
  },

  'Unattributed spend': async () => {
    const check = async (sel: Selection) => {
      const [r] = await panelRows('Unattributed spend', sel)
      const es = inRange(MAIN, sel, ['customer'])
      const unattributed = spend(es.filter((e) => e.customer === ''))
      assert.equal(round10(num(r?.unattributed_usd)), unattributed)
      assert.ok(Math.abs(num(r?.unattributed_share) - unattributed / spend(es)) < 1e-9)
    }
    await check({})
    await check({ customer: ['acme'] }) // the customer filter does not hide unattributed spend
    await check({ model: ['gpt-4o'], agent: ['planner', '(none)'] })
    const [r] = await panelRows('Unattributed spend', {})
    assert.ok(num(r?.unattributed_usd) > 0)
  },

  'Cache-hit ratio': async () => {
    for (const sel of [{}, { customer: ['globex'] }]) {
      const [r] = await panelRows('Cache-hit ratio', sel)
      const es = inRange(MAIN, sel)
      const hits = es.filter((e) => e.cache_hit).length
      assert.ok(hits > 0)
      assert.ok(Math.abs(num(r?.cache_hit_ratio) - hits / es.length) < 1e-12)
      const cached = sumOf(es, (e) => e.cached_tokens) / sumOf(es, (e) => e.input_tokens)
      assert.ok(Math.abs(num(r?.cached_token_ratio) - cached) < 1e-12)
    }
  },

  'Requests and failure rate': async () => {
    for (const sel of [{}, { endpoint: ['/search'], customer: ["o'reilly"] }]) {
      const [r] = await panelRows('Requests and failure rate', sel)
      const es = inRange(MAIN, sel)
      const failures = es.filter((e) => e.status === 'failure').length
      assert.equal(num(r?.request_count), es.length)
      assert.ok(failures > 0)
      assert.ok(Math.abs(num(r?.failure_rate) - failures / es.length) < 1e-12)
    }
  },

  'Spend over time by customer (top N)': async () => {
    const title = 'Spend over time by customer (top N)'
    const cases: [Selection, number, number][] = [
      [{ top_n: '2' }, 1000, HOUR], // 3 days / 1000 points = 5m, raised to the panel's 1h minimum
      [{ top_n: '2' }, 20, 3 * HOUR], // 3 days / 20 points = 3.6h, rounded to 3h
      [{ top_n: '5', customer: ['globex', "o'reilly", '(none)'] }, 1000, HOUR],
    ]
    for (const [sel, maxDataPoints, bucketMs] of cases) {
      const es = inRange(MAIN, sel)
      const totals = [...groupBy(es, (e) => e.customer)].map(([c, xs]) => [c, spend(xs)] as const)
      totals.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      const topN = Number(sel.top_n)
      const top = totals.slice(0, topN).map(([c]) => c)
      const expected = new Map<string, number>()
      for (const [k, xs] of groupBy(es, (e) => {
        const bucket = Math.floor(hourOf(e.ts) / bucketMs) * bucketMs
        return `${chTime(bucket)}|${top.includes(e.customer) ? label(e.customer) : '(other)'}`
      }))
        expected.set(k, spend(xs))
      const got = new Map(
        (await panelRows(title, sel, MAIN, maxDataPoints)).map((r) => [
          `${r.time}|${r.customer_name}`,
          round10(num(r.spend_usd)),
        ]),
      )
      assert.deepEqual(got, expected, `top ${topN}, ${bucketMs / HOUR}h buckets`)
      const names = new Set([...got.keys()].map((k) => k.split('|')[1]))
      assert.equal(names.has('(other)'), totals.length > top.length)
      assert.equal(names.size, Math.min(totals.length, top.length + 1))
    }
  },

  'Spend by model': async () => {
    const got = new Map(
      (await panelRows('Spend by model')).map((r) => [r.model_name, round10(num(r.spend_usd))]),
    )
    const expected = new Map([...groupBy(inRange(), (e) => label(e.model))].map(([m, xs]) => [m, spend(xs)]))
    assert.deepEqual(got, expected)
    assert.equal(got.size, 3)
  },

  'Spend by endpoint / feature': async () => {
    const sel = { agent: ['planner', 'coder'] }
    const res = await panelRows('Spend by endpoint / feature', sel)
    const es = inRange(MAIN, sel)
    const expected = [...groupBy(es, (e) => label(e.endpoint))].map(([name, xs]) => ({
      name,
      spend: spend(xs),
      requests: xs.length,
      failures: xs.filter((e) => e.status === 'failure').length,
      input: sumOf(xs, (e) => e.input_tokens),
    }))
    expected.sort((a, b) => b.spend - a.spend)
    assert.deepEqual(
      res.map((r) => ({
        name: r.endpoint_name,
        spend: round10(num(r.spend_usd)),
        requests: num(r.request_count),
        failures: num(r.failure_count),
        input: num(r.input_token_count),
      })),
      expected,
    )
    assert.ok(expected.some((x) => x.name === '(none)'))
    assert.ok(Math.abs(res.reduce((a, r) => a + num(r.share), 0) - 1) < 1e-9)
    for (const r of res)
      assert.ok(Math.abs(num(r.cost_per_request) - num(r.spend_usd) / num(r.request_count)) < 1e-12)
  },

  'Top API keys': async () => {
    const title = 'Top API keys'
    const expectedKeys = (range: Range) =>
      [...groupBy(inRange(range), (e) => e.api_key_hash)]
        .map(([hash, xs]) => ({
          hash: label(hash),
          alias: xs.reduce((a, e) => (e.ts > a.ts ? e : a)).api_key_alias,
          spend: spend(xs),
          requests: xs.length,
        }))
        .sort((a, b) => b.spend - a.spend)
    const shape = (res: Row[]) =>
      res.map((r) => ({
        hash: r.key_hash,
        alias: r.key_alias,
        spend: round10(num(r.spend_usd)),
        requests: num(r.request_count),
      }))
    const all = expectedKeys(MAIN)
    assert.equal(all.length, 5)
    assert.deepEqual(shape(await panelRows(title, { top_n: '10' })), all)
    assert.deepEqual(shape(await panelRows(title, { top_n: '2' })), all.slice(0, 2))
    // the alias is the key's latest: renamed mid-range, the old name before the rename
    assert.equal(all.find((k) => k.hash === 'h-worker')?.alias, RENAMED_ALIAS)
    const early = { fromMs: ANCHOR, toMs: RENAME_AT - 1 }
    const beforeRename = shape(await panelRows(title, { top_n: '10' }, early))
    assert.deepEqual(beforeRename, expectedKeys(early))
    assert.equal(beforeRename.find((k) => k.hash === 'h-worker')?.alias, 'prod-worker')
  },

  "Agents' spend": async () => {
    for (const sel of [{}, { customer: ['acme'] }, { agent: ['coder'] }]) {
      const res = await panelRows("Agents' spend", sel)
      const es = inRange(MAIN, sel).filter((e) => e.agent !== '')
      const expected = new Map([...groupBy(es, (e) => e.agent)].map(([a, xs]) => [a, [spend(xs), xs.length]]))
      assert.deepEqual(
        new Map(res.map((r) => [r.agent_name, [round10(num(r.spend_usd)), num(r.request_count)]])),
        expected,
      )
      assert.ok(res.length > 0)
    }
  },

  'Unattributed spend by key and endpoint': async () => {
    for (const sel of [{}, { customer: ['acme'] }, { model: ['gpt-4o-mini'] }]) {
      const res = await panelRows('Unattributed spend by key and endpoint', sel)
      const es = inRange(MAIN, sel, ['customer']).filter((e) => e.customer === '')
      const expected = new Map(
        [...groupBy(es, (e) => `${label(e.api_key_alias)}|${label(e.endpoint)}`)].map(([k, xs]) => [
          k,
          spend(xs),
        ]),
      )
      assert.deepEqual(
        new Map(res.map((r) => [`${r.key_alias}|${r.endpoint_name}`, round10(num(r.spend_usd))])),
        expected,
      )
      assert.ok(res.length > 0)
    }
  },

  'Requests and failure rate over time': async () => {
    for (const [maxDataPoints, bucketMs] of [
      [1000, HOUR],
      [20, 3 * HOUR],
    ] as const) {
      const es = inRange(MAIN, { model: ['gpt-4o', 'claude-3-5-sonnet'] })
      const expected = new Map(
        [...groupBy(es, (e) => chTime(Math.floor(hourOf(e.ts) / bucketMs) * bucketMs))].map(([t, xs]) => {
          const failures = xs.filter((e) => e.status === 'failure').length
          return [t, [xs.length, failures, round10(failures / xs.length)]]
        }),
      )
      const res = await panelRows(
        'Requests and failure rate over time',
        { model: ['gpt-4o', 'claude-3-5-sonnet'] },
        MAIN,
        maxDataPoints,
      )
      const got = new Map(
        res.map((r) => [r.time, [num(r.request_count), num(r.failure_count), round10(num(r.failure_rate))]]),
      )
      assert.deepEqual(got, expected)
      assert.equal(got.size, (3 * DAY) / bucketMs)
    }
  },

  'Tokens in / out / cached': async () => {
    const res = await panelRows('Tokens in / out / cached', { team: ['growth'] })
    const es = inRange(MAIN, { team: ['growth'] })
    const expected = new Map(
      [...groupBy(es, (e) => chTime(hourOf(e.ts)))].map(([t, xs]) => [
        t,
        [
          sumOf(xs, (e) => e.input_tokens),
          sumOf(xs, (e) => e.output_tokens),
          sumOf(xs, (e) => e.cached_tokens),
        ],
      ]),
    )
    const got = new Map(
      res.map((r) => [
        r.time,
        [num(r.input_token_count), num(r.output_token_count), num(r.cached_token_count)],
      ]),
    )
    assert.deepEqual(got, expected)
    assert.ok(sumOf(es, (e) => e.cached_tokens) > 0)
  },

  'Failures by error type': async () => {
    const cases: [Selection, Range][] = [
      [{}, MAIN],
      [{ customer: ['acme', 'initech'] }, UNALIGNED],
    ]
    for (const [sel, range] of cases) {
      const es = events.filter((e) => inRaw(range)(e.ts) && selected(sel)(e) && e.status === 'failure')
      const expected = new Map(
        [...groupBy(es, (e) => `${e.error_type}|${e.http_status}`)].map(([k, xs]) => [
          k,
          [xs.length, new Set(xs.map((e) => e.customer)).size],
        ]),
      )
      const res = await panelRows('Failures by error type', sel, range)
      const got = new Map(
        res.map((r) => [
          `${r.error_type_name}|${r.http_status_code}`,
          [num(r.failure_count), num(r.customer_count)],
        ]),
      )
      assert.deepEqual(got, expected)
      assert.ok(got.size > 0)
    }
  },

  'Most expensive requests': async () => {
    const sel = { customer: ['globex', '(none)'] }
    const res = await panelRows('Most expensive requests', sel)
    const es = events
      .filter((e) => inRaw(MAIN)(e.ts) && selected(sel)(e))
      .sort((a, b) => b.cost_usd - a.cost_usd || b.ts - a.ts)
    assert.equal(res.length, 20)
    assert.deepEqual(
      res.map((r) => round10(num(r.request_cost_usd))),
      es.slice(0, 20).map((e) => round10(e.cost_usd)),
    )
    assert.equal(res[0]!.event, es[0]!.event_id)
    assert.equal(res[0]!.customer_name, label(es[0]!.customer))
  },

  'Dead letters by source and reason': async () => {
    for (const range of [MAIN, UNALIGNED]) {
      const dls = deadLetters.filter((d) => inRaw(range)(d.received_at))
      const expected = new Map<string, number>()
      for (const d of dls)
        expected.set(`${d.source}|${d.reason}`, (expected.get(`${d.source}|${d.reason}`) ?? 0) + 1)
      const res = await panelRows('Dead letters by source and reason', {}, range)
      assert.deepEqual(
        new Map(res.map((r) => [`${r.source_name}|${r.reason_text}`, num(r.dead_letter_count)])),
        expected,
      )
    }
    const res = await panelRows('Dead letters by source and reason')
    assert.equal(res.length, 3)
    assert.equal(num(res[0]!.dead_letter_count), 2) // litellm_http "invalid JSON" twice in range, once before
  },

  'Budget burn against limit': async () => {
    // Prometheus, not the store: every metric it reads is one Gatewarden exports (budget gauges)
    const p = panel('Budget burn against limit')
    const declared = declaredMetricNames()
    const exprs = (p.targets ?? []).map((t) => t.expr ?? '')
    for (const e of exprs) assert.deepEqual(unknownMetrics(e, declared).unknown, [], e)
    assert.match(
      exprs[0]!,
      /gatewarden_budget_spend_usd\) \/ max by \(budget, scope\) \(gatewarden_budget_limit_usd\)/,
    )
    assert.match(exprs[1]!, /gatewarden_budget_burn_rate/)
  },

  'Dead letters in range': async () => {
    const res = await panelRows('Dead letters in range')
    const expected = deadLetters
      .filter((d) => inRaw(MAIN)(d.received_at))
      .sort((a, b) => b.received_at - a.received_at)
    assert.deepEqual(
      res.map((r) => [r.origin_text, r.raw_preview, num(r.raw_byte_count)]),
      expected.map((d) => [d.origin, d.raw, d.raw_bytes]),
    )
    assert.equal(res.length, 4)
  },
}

// ---- the expander itself: the plugin's documented outputs ----

test('the expander reproduces the plugin: macros, $__conditionalAll, variable formats, interval', () => {
  const ctx: ExpandContext = {
    fromMs: 1415792726123,
    toMs: 1447328726456,
    intervalMs: 20_000,
    variables: {
      one: { value: 'acme' },
      multi: { value: ['acme', "o'reilly"] },
      all: { value: [ALL], options: ['a', 'b'] },
      custom_all: { value: ALL, allValue: '.*' },
      empty: { value: [''] },
    },
  }
  // the plugin's documentation (docs/sources/query-editor.md, Macros)
  assert.equal(
    expandQuery('$__timeFilter(time)', ctx),
    'time >= toDateTime(1415792726) AND time <= toDateTime(1447328726)',
  )
  assert.equal(
    expandQuery('$__timeFilter_ms(time)', ctx),
    'time >= fromUnixTimestamp64Milli(1415792726123) AND time <= fromUnixTimestamp64Milli(1447328726456)',
  )
  assert.equal(
    expandQuery('$__timeInterval(column)', ctx),
    'toStartOfInterval(toDateTime(column), INTERVAL 20 second)',
  )
  assert.equal(expandQuery('$__interval_s', ctx), '20')
  assert.equal(
    expandQuery('$__fromTime, $__toTime_ms', ctx),
    'toDateTime(1415792726), fromUnixTimestamp64Milli(1447328726456)',
  )
  assert.equal(
    expandQuery('$__dateFilter(d)', ctx),
    "d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')",
  )
  // comments are blanked before macros expand; unknown macros are left and then refused
  assert.equal(stripComments("a -- $__x\nb /* c */ 'd--e'"), "a        \nb         'd--e'")
  assert.throws(() => expandQuery('WHERE $__notAMacro(x)', ctx), /unexpanded '\$__notAMacro'/)
  assert.throws(() => expandQuery('WHERE x = $missing', ctx), /unexpanded '\$missing'/)

  // $__conditionalAll: All -> 1=1; a selection -> the condition; a lone '' also counts as All (plugin quirk)
  const cond = (v: string) => `WHERE $__conditionalAll(c IN (\${${v}:singlequote}), $${v})`
  assert.equal(applyConditionalAll(cond('all'), ctx.variables), 'WHERE 1=1')
  assert.equal(applyConditionalAll(cond('empty'), ctx.variables), 'WHERE 1=1')
  assert.equal(expandQuery(cond('multi'), ctx), "WHERE c IN ('acme','o\\'reilly')")
  assert.equal(expandQuery(cond('one'), ctx), "WHERE c IN ('acme')")
  // variable formats: the plugin's default (arrays quoted unescaped, single values raw), All, custom all
  assert.equal(replaceVariables('$one ${multi} [[one]]', ctx), "acme 'acme','o'reilly' acme")
  assert.equal(replaceVariables('${all:singlequote} ${all}', ctx), "'a','b' 'a','b'")
  assert.equal(replaceVariables('${custom_all:singlequote}', ctx), '.*')
  assert.equal(replaceVariables('${multi:sqlstring}', ctx), "'acme','o''reilly'")
  assert.throws(() => replaceVariables('${multi:json}', ctx), /not modelled/)

  // Grafana's interval: range / points rounded to a nice step, at least the panel's min interval
  assert.equal(panelIntervalMs(0, 3 * DAY, 1000), 5 * 60_000)
  assert.equal(panelIntervalMs(0, 3 * DAY, 1000, '1h'), HOUR)
  assert.equal(panelIntervalMs(0, 3 * DAY, 20, '1h'), 3 * HOUR)
  assert.equal(panelIntervalMs(0, 90 * DAY, 1000, '1h'), 2 * HOUR)
})

// ---- the dashboard's structure ----

test('dashboard: uid, variables, and every panel has ClickHouse SQL and an outcome check', () => {
  assert.equal(dashboard.uid, 'gatewarden-spend')
  assert.ok(
    dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 41,
    `schemaVersion ${dashboard.schemaVersion}`,
  )
  const v = (name: string) => {
    const found = variables.find((x) => x.name === name)
    assert.ok(found, `variable ${name}`)
    return found
  }
  assert.equal(v('datasource').type, 'datasource')
  assert.equal(v('datasource').query, 'grafana-clickhouse-datasource')
  assert.equal(v('database').type, 'constant')
  assert.equal(v('database').query, 'gatewarden')
  for (const name of FILTERS) {
    const f = v(name)
    assert.equal(f.type, 'query', name)
    assert.ok(f.multi && f.includeAll, `${name}: multi-value with All`)
    assert.deepEqual(f.datasource, { type: 'grafana-clickhouse-datasource', uid: '${datasource}' })
    assert.match(String(f.query), /FROM \$\{database\}\.spend_by_hour\b/)
    // '' is offered as '(none)': a lone '' would read as All to $__conditionalAll
    assert.match(String(f.query), new RegExp(`if\\(${name} = '', '\\(none\\)', ${name}\\)`))
  }

  const ids = new Set<number>()
  for (const p of promPanels) {
    assert.ok(!ids.has(p.id), `duplicate panel id ${p.id}`)
    ids.add(p.id)
    for (const t of p.targets ?? [])
      assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${prometheus}' }, p.title)
  }
  assert.equal(v('prometheus').type, 'datasource')
  assert.equal(v('prometheus').query, 'prometheus')
  for (const p of sqlPanels) {
    assert.ok(!ids.has(p.id), `duplicate panel id ${p.id}`)
    ids.add(p.id)
    assert.ok(p.targets && p.targets.length > 0, `panel "${p.title}" has no target`)
    for (const t of p.targets) {
      assert.ok(t.rawSql && t.rawSql.trim() !== '', `panel "${p.title}" target ${t.refId} has no SQL`)
      assert.deepEqual(
        t.datasource ?? null,
        { type: 'grafana-clickhouse-datasource', uid: '${datasource}' },
        p.title,
      )
      const tables = [...t.rawSql.matchAll(/\bFROM\s+([\w.${}]+)/g)].map((m) => m[1]!)
      assert.ok(tables.length > 0, p.title)
      for (const table of tables)
        assert.match(table, /^\$\{database\}\.(spend_by_hour|requests|dead_letters)$/, p.title)
      const readsRaw = tables.includes('${database}.requests')
      assert.equal(
        readsRaw,
        /raw `requests`/.test(p.description ?? ''),
        `"${p.title}": raw reads must say so`,
      )
      if (!tables.includes('${database}.dead_letters')) {
        const ignoresCustomer = /Ignores the customer filter/.test(p.description ?? '')
        for (const f of FILTERS) {
          const uses = t.rawSql.includes(
            `$__conditionalAll(if(${f} = '', '(none)', ${f}) IN (\${${f}:singlequote}), $${f})`,
          )
          assert.equal(uses, !(f === 'customer' && ignoresCustomer), `"${p.title}" filter ${f}`)
        }
      }
      if (t.rawSql.includes('$__timeInterval(hour)'))
        assert.equal(p.interval, '1h', `"${p.title}" min interval`)
    }
  }
  // the provisioned data source is the one the dashboard's datasource variable defaults to
  const file = (path: string): unknown => parseYaml(readFileSync(join(REPO_ROOT, 'dashboards', path), 'utf8'))
  const ds = z
    .object({
      datasources: z.array(
        z.object({ uid: z.string(), type: z.string(), jsonData: z.record(z.string(), z.unknown()) }),
      ),
    })
    .parse(file('provisioning/datasources/clickhouse.yaml')).datasources
  const dsVar = z.object({ current: z.object({ value: z.string() }) }).parse(v('datasource'))
  assert.deepEqual(
    ds.map((d) => [d.uid, d.type, d.jsonData.host, d.jsonData.port, d.jsonData.defaultDatabase]),
    [[dsVar.current.value, 'grafana-clickhouse-datasource', 'clickhouse', 9000, 'gatewarden']],
  )
  const providers = z
    .object({ providers: z.array(z.object({ type: z.string(), options: z.object({ path: z.string() }) })) })
    .parse(file('provisioning/dashboards/gatewarden.yaml')).providers
  assert.deepEqual(
    providers.map((p) => [p.type, p.options.path]),
    [['file', '/var/lib/grafana/dashboards']],
  )

  assert.deepEqual(
    panels.map((p) => p.title).sort(),
    Object.keys(checks).sort(),
    'every panel needs an outcome check below',
  )
})

// ---- every query runs, under every kind of selection ----

test('every panel and variable query runs on the seeded store, for All, single, multi and (none) selections', async () => {
  const selections: Selection[] = [
    {},
    { customer: ['acme'] },
    { customer: ['globex', "o'reilly"] },
    { customer: ['(none)'] },
    { team: ['(none)'], model: ['gpt-4o'], endpoint: ['/chat', '(none)'], agent: ['planner'] },
    { top_n: '5' },
  ]
  for (const sel of selections)
    for (const p of sqlPanels) {
      const results = await runPanel(p, sel)
      if (Object.keys(sel).length === 0)
        for (const r of results) assert.ok(r.length > 0, `panel "${p.title}" returns rows for the main range`)
    }
  for (const p of sqlPanels) await runPanel(p, {}, EMPTY) // no data: still valid SQL

  // variable options are the labels in range: '' shows as '(none)', quotes survive
  const options = await optionsFor(MAIN)
  const es = inRange()
  for (const f of FILTERS) {
    const expected = [...new Set(es.map((e) => label(e[f])))].sort()
    assert.deepEqual([...options[f]!].sort(), expected, f)
  }
  assert.ok(options.customer!.includes("o'reilly") && options.customer!.includes('(none)'))
})

for (const [title, check] of Object.entries(checks)) test(`panel "${title}" shows the seeded numbers`, check)
