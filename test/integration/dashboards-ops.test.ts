import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { insertAlertChanges } from '../../adapters/clickhouse/alerts-table.js'
import { insertDeadLetters } from '../../adapters/clickhouse/dead-letters-table.js'
import { insertSettings } from '../../adapters/clickhouse/settings.js'
import type { Alert } from '../../core/alerts/alert.js'
import { freshStore, rows } from '../support/store.js'
import { REPO_ROOT } from '../support/paths.js'
import { expandQuery, panelIntervalMs, type ExpandContext } from '../support/grafana-macros.js'
import { declaredMetricNames, unknownMetrics } from '../support/prometheus-panels.js'
import { ANCHOR, seedDeadLetters } from '../support/spend-seed.js'

// The Guardrails and Pipeline dashboards: every ClickHouse panel's SQL, with the plugin's macros expanded
// (test/support/grafana-macros.ts), runs on a store seeded with alerts, rules, requests and dead letters,
// and its rows equal what the seed implies; every Prometheus panel reads only metrics Gatewarden exports.

const Target = z.object({
  refId: z.string(),
  rawSql: z.string().optional(),
  expr: z.string().optional(),
  datasource: z.object({ type: z.string(), uid: z.string() }),
})
const Panel = z.object({
  id: z.number().int(),
  type: z.string(),
  title: z.string().min(1),
  description: z.string().min(1),
  interval: z.string().optional(),
  targets: z.array(Target).min(1),
})
type Panel = z.infer<typeof Panel>
const Dashboard = z.object({
  uid: z.string(),
  title: z.string(),
  schemaVersion: z.number(),
  templating: z.object({
    list: z.array(z.object({ type: z.string(), name: z.string(), query: z.unknown() })),
  }),
  panels: z.array(Panel),
})
const load = (file: string) =>
  Dashboard.parse(JSON.parse(readFileSync(join(REPO_ROOT, 'dashboards', file), 'utf8')))
const guardrails = load('gatewarden-guardrails.json')
const pipeline = load('gatewarden-pipeline.json')

const SEC = 1000
const MIN = 60 * SEC
const HOUR = 60 * MIN
const DAY = 24 * HOUR
/** Three whole days as Grafana sends an absolute range. */
const MAIN = { fromMs: ANCHOR, toMs: ANCHOR + 3 * DAY - 1 }
const EMPTY = { fromMs: ANCHOR - 400 * DAY, toMs: ANCHOR - 399 * DAY }
const chTime = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ')
const bucket = (ms: number, size: number) =>
  new Date(Math.floor(ms / size) * size).toISOString().slice(0, 19).replace('T', ' ')

// ---- the seed ----

interface SeedAlert {
  id: string
  type: Alert['type']
  severity: Alert['severity']
  scope: Alert['scope']
  started: number
  resolved?: number
  silenced?: boolean
  details: Alert['details']
}
/** Alerts inside, before and after MAIN; loops and zombies carry the start of their cause. */
const ALERTS: SeedAlert[] = [
  {
    id: 'a-loop-1',
    type: 'loop',
    severity: 'page',
    scope: { kind: 'key', id: 'k1' },
    started: ANCHOR + 2 * HOUR,
    resolved: ANCHOR + 3 * HOUR,
    details: { since: new Date(ANCHOR + 2 * HOUR - 20 * SEC).toISOString() },
  },
  {
    id: 'a-loop-2',
    type: 'loop',
    severity: 'page',
    scope: { kind: 'trace', id: 't9' },
    started: ANCHOR + 2 * HOUR + 10 * MIN,
    details: { since: new Date(ANCHOR + 2 * HOUR + 10 * MIN - 45 * SEC).toISOString() },
  },
  {
    id: 'a-zombie',
    type: 'zombie_agent',
    severity: 'ticket',
    scope: { kind: 'agent', id: 'nightly' },
    started: ANCHOR + 26 * HOUR,
    details: { first: new Date(ANCHOR + 26 * HOUR - 30 * MIN).toISOString() },
  },
  {
    id: 'a-budget',
    type: 'budget_exhaustion',
    severity: 'ticket',
    scope: { kind: 'customer', id: 'acme' },
    started: ANCHOR + 50 * HOUR,
    silenced: true,
    details: { budget: 'acme-monthly' },
  },
  {
    id: 'a-burn',
    type: 'burn_rate',
    severity: 'page',
    scope: { kind: 'customer', id: 'globex' },
    started: ANCHOR + 51 * HOUR,
    resolved: ANCHOR + 52 * HOUR,
    details: { budget: 'globex-daily' },
  },
  {
    id: 'a-old-loop',
    type: 'loop',
    severity: 'page',
    scope: { kind: 'key', id: 'k0' },
    started: ANCHOR - 2 * DAY,
    details: { since: new Date(ANCHOR - 2 * DAY - 5 * SEC).toISOString() },
  },
]

interface SeedRule {
  id: string
  versions: Array<{ state: string; expires: number }>
  action: 'block' | 'downgrade'
  mode: 'enforce' | 'dry_run'
  created: number
  reason: Record<string, string>
}
const NOW = Date.now()
const RULES: SeedRule[] = [
  {
    id: 'r-block',
    action: 'block',
    mode: 'enforce',
    created: ANCHOR + 5 * HOUR,
    versions: [{ state: 'active', expires: NOW + HOUR }],
    reason: { kind: 'manual', by: 'ops', why: 'runaway batch' },
  },
  {
    id: 'r-down',
    action: 'downgrade',
    mode: 'enforce',
    created: ANCHOR + 30 * HOUR,
    versions: [
      { state: 'pending', expires: NOW + HOUR },
      { state: 'active', expires: NOW + 2 * HOUR },
    ],
    reason: { kind: 'alert', summary: 'loop on key k1' },
  },
  {
    id: 'r-dry',
    action: 'block',
    mode: 'dry_run',
    created: ANCHOR + 31 * HOUR,
    versions: [{ state: 'active', expires: NOW + 3 * HOUR }],
    reason: { kind: 'manual', by: 'ops', why: 'trial' },
  },
  {
    id: 'r-lifted',
    action: 'block',
    mode: 'enforce',
    created: ANCHOR + 32 * HOUR,
    versions: [
      { state: 'active', expires: NOW + HOUR },
      { state: 'lifted', expires: NOW + HOUR },
    ],
    reason: { kind: 'manual', by: 'ops', why: 'mistake' },
  },
  {
    id: 'r-stale',
    action: 'downgrade',
    mode: 'enforce',
    created: ANCHOR + 33 * HOUR,
    versions: [{ state: 'active', expires: NOW - HOUR }],
    reason: { kind: 'manual', by: 'ops', why: 'past its expiry, not yet marked' },
  },
]

/** Requests by arrival: per source, a spacing and the delays (arrival minus call start) they cycle through. */
const SOURCES = [
  { source: 'litellm_http', every: 41 * SEC, delays: [200, 1200, 5000, 900] },
  { source: 'otlp', every: 97 * SEC, delays: [3000, 7000] },
  { source: 'kafka', every: 173 * SEC, delays: [15_000, 60_000, 30_000] },
]
interface SeedRequest {
  source: string
  received: number
  ts: number
}
const REQUESTS: SeedRequest[] = SOURCES.flatMap(({ source, every, delays }) => {
  const out: SeedRequest[] = []
  for (let i = 0, t = ANCHOR - 6 * HOUR + every / 3; t < ANCHOR + 3 * DAY + 6 * HOUR; i++, t += every)
    out.push({ source, received: t, ts: t - delays[i % delays.length]! })
  return out
})
const deadLetters = seedDeadLetters()

let store: StoreClient
before(async () => {
  store = await freshStore('dashops')
  const { client, database } = store
  const changes = ALERTS.flatMap((a) => {
    const alert = (state: 'firing' | 'resolved', at: number): Alert => ({
      id: a.id,
      dedupe_key: `${a.type}:${a.scope.kind}:${a.scope.id}`,
      type: a.type,
      severity: a.severity,
      state,
      scope: a.scope,
      started_at: a.started,
      resolved_at: state === 'resolved' ? at : null,
      updated_at: at,
      summary: `${a.type} ${state} on ${a.scope.id}`,
      details: state === 'firing' ? a.details : { ...a.details, reason: 'over' },
      links: {},
    })
    const rows = [{ alert: alert('firing', a.started), silenced: a.silenced ?? false, instance: 'i1' }]
    if (a.resolved) rows.push({ alert: alert('resolved', a.resolved), silenced: false, instance: 'i1' })
    return rows
  })
  await insertAlertChanges(client, database, changes, 'dashops-alerts')
  await client.insert({
    table: `${database}.rules`,
    format: 'JSONEachRow',
    values: RULES.flatMap((r) =>
      r.versions.map((v, i) => ({
        id: r.id,
        scope_kind: 'customer',
        scope_id: `c-${r.id}`,
        action: r.action,
        mode: r.mode,
        state: v.state,
        cause: '',
        created_at: chTime(r.created),
        updated_at: chTime(r.created + i * MIN),
        expires_at: chTime(v.expires),
        body: JSON.stringify({ id: r.id, reason: r.reason }),
        version: i + 1,
      })),
    ),
    clickhouse_settings: insertSettings('dashops-rules'),
  })
  await client.insert({
    table: `${database}.requests`,
    format: 'JSONEachRow',
    values: REQUESTS.map((r, i) => ({
      event_id: `ops-${i}`,
      ts: chTime(r.ts),
      end_ts: chTime(r.ts + 100),
      source: r.source,
      status: 'success',
      cost_usd: '0.001',
      received_at: chTime(r.received),
    })),
    clickhouse_settings: insertSettings('dashops-requests'),
  })
  await insertDeadLetters(client, database, deadLetters, 'dashops-dead-letters')
})
after(async () => {
  await store?.client.close()
})

// ---- running a panel as Grafana would ----

type Row = Record<string, string | number>
function context(range: { fromMs: number; toMs: number }, p: Panel, maxDataPoints = 1000): ExpandContext {
  return {
    ...range,
    intervalMs: panelIntervalMs(range.fromMs, range.toMs, maxDataPoints, p.interval),
    variables: { database: { value: store.database } },
  }
}
async function run(p: Panel, range = MAIN, maxDataPoints = 1000): Promise<Row[][]> {
  const out: Row[][] = []
  for (const t of p.targets) {
    const sql = expandQuery(t.rawSql ?? '', context(range, p, maxDataPoints))
    try {
      out.push(await rows<Row>(store, sql))
    } catch (e) {
      throw new Error(`panel "${p.title}" target ${t.refId} failed:\n${sql}`, { cause: e })
    }
  }
  return out
}
const panelOf = (d: z.infer<typeof Dashboard>, title: string) => {
  const p = d.panels.find((x) => x.title === title)
  assert.ok(p, `no panel "${title}"`)
  return p
}
const first = async (d: z.infer<typeof Dashboard>, title: string, range = MAIN, points = 1000) =>
  (await run(panelOf(d, title), range, points))[0]!
const num = Number
const inMain = (ms: number) => ms >= MAIN.fromMs && ms <= Math.floor(MAIN.toMs / 1000) * 1000
/** ClickHouse's quantileExact: the element at floor(level * n) of the sorted values. */
const quantileExact = (level: number, xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(level * s.length))]!
}

// ---- one outcome check per panel ----

const checks: Record<string, Record<string, () => Promise<void>>> = {
  [guardrails.uid]: {
    'Alerts over time by type': async () => {
      const got = (await first(guardrails, 'Alerts over time by type')).map(
        (r) => `${r.time}|${r.alert_type}|${num(r.alert_count)}`,
      )
      const expected = ALERTS.filter((a) => inMain(a.started)).map(
        (a) => `${bucket(a.started, HOUR)}|${a.type}|1`,
      )
      // the two loops start in the same hour: one row of 2
      const merged = new Map<string, number>()
      for (const e of expected) {
        const k = e.split('|').slice(0, 2).join('|')
        merged.set(k, (merged.get(k) ?? 0) + 1)
      }
      assert.deepEqual(got.sort(), [...merged].map(([k, n]) => `${k}|${n}`).sort())
      assert.ok([...merged.values()].includes(2))
    },
    'Alerts firing now': async () => {
      const got = (await first(guardrails, 'Alerts firing now')).map((r) => [
        r.alert_type,
        r.alert_severity,
        num(r.alert_count),
        num(r.silenced_count),
      ])
      // the time range does not matter: firing now is the latest state of each alert
      assert.deepEqual(got, [
        ['loop', 'page', 2, 0],
        ['budget_exhaustion', 'ticket', 1, 1],
        ['zombie_agent', 'ticket', 1, 0],
      ])
      assert.deepEqual(
        await first(guardrails, 'Alerts firing now', EMPTY),
        await first(guardrails, 'Alerts firing now'),
      )
    },
    'Active rules': async () => {
      const got = await first(guardrails, 'Active rules')
      assert.deepEqual(
        got.map((r) => [r.rule_id, r.rule_scope, r.rule_action, r.rule_mode, r.rule_state, r.rule_reason]),
        [
          ['r-block', 'customer:c-r-block', 'block', 'enforce', 'active', 'ops: runaway batch'],
          ['r-down', 'customer:c-r-down', 'downgrade', 'enforce', 'active', 'loop on key k1'],
          ['r-dry', 'customer:c-r-dry', 'block', 'dry_run', 'active', 'ops: trial'],
        ],
      )
      assert.equal(Date.parse(`${String(got[1]!.rule_expires)}Z`), NOW + 2 * HOUR, 'the latest version wins')
    },
    'Rules made over time by action': async () => {
      const got = (await first(guardrails, 'Rules made over time by action')).map(
        (r) => `${r.time}|${r.rule_kind}|${num(r.rule_count)}`,
      )
      const expected = RULES.map((r) => `${bucket(r.created, HOUR)}|${r.action} (${r.mode})|1`)
      assert.deepEqual(got.sort(), expected.sort())
    },
    'Loops and zombies': async () => {
      const got = (await first(guardrails, 'Loops and zombies')).map((r) => [
        r.alert_type,
        r.alert_scope,
        r.current_state,
      ])
      assert.deepEqual(got, [
        ['zombie_agent', 'agent:nightly', 'firing'],
        ['loop', 'trace:t9', 'firing'],
        ['loop', 'key:k1', 'resolved'],
      ])
    },
    'Time to detect': async () => {
      const got = (await first(guardrails, 'Time to detect')).map((r) => [
        r.alert_type,
        num(r.alert_count),
        num(r.median_seconds),
        num(r.max_seconds),
      ])
      // loops: 20 s and 45 s from the first repeat; the zombie: 30 min from its first off-hours request
      assert.deepEqual(got, [
        ['loop', 2, 45, 45],
        ['zombie_agent', 1, 1800, 1800],
      ])
    },
  },
  [pipeline.uid]: {
    'Ingest rate by source': async () => {
      const p = panelOf(pipeline, 'Ingest rate by source')
      for (const points of [1000, 50]) {
        const intervalMs = panelIntervalMs(MAIN.fromMs, MAIN.toMs, points, p.interval)
        const expected = new Map<string, number>()
        for (const r of REQUESTS.filter((x) => inMain(x.received))) {
          const k = `${bucket(r.received, intervalMs)}|${r.source}`
          expected.set(k, (expected.get(k) ?? 0) + 1)
        }
        const got = (await first(pipeline, 'Ingest rate by source', MAIN, points)).map(
          (r) => [`${r.time}|${r.source_name}`, num(r.events_per_second)] as const,
        )
        assert.equal(got.length, expected.size, `${points} points`)
        for (const [k, rate] of got)
          assert.ok(Math.abs(rate - expected.get(k)! / (intervalMs / 1000)) < 1e-12, `${k}: ${rate}`)
      }
    },
    'Ingest delay by source': async () => {
      const got = (await first(pipeline, 'Ingest delay by source')).map((r) => [
        r.source_name,
        num(r.event_count),
        num(r.p50_seconds),
        num(r.p99_seconds),
      ])
      const expected = SOURCES.map(({ source }) => {
        const delays = REQUESTS.filter((r) => r.source === source && inMain(r.received)).map(
          (r) => r.received - r.ts,
        )
        return [source, delays.length, quantileExact(0.5, delays) / 1000, quantileExact(0.99, delays) / 1000]
      }).sort((a, b) => (a[0]! < b[0]! ? -1 : 1))
      assert.deepEqual(got, expected)
    },
    'Dead letters by reason': async () => {
      const p = panelOf(pipeline, 'Dead letters by reason')
      const intervalMs = panelIntervalMs(MAIN.fromMs, MAIN.toMs, 1000, p.interval)
      const expected = new Map<string, number>()
      for (const d of deadLetters.filter((x) => inMain(x.received_at))) {
        const k = `${bucket(d.received_at, intervalMs)}|${d.source}: ${d.reason}`
        expected.set(k, (expected.get(k) ?? 0) + 1)
      }
      const got = new Map(
        (await first(pipeline, 'Dead letters by reason')).map((r) => [
          `${r.time}|${r.dead_letter_reason}`,
          num(r.dead_letter_count),
        ]),
      )
      assert.deepEqual(got, expected)
      assert.ok([...got.values()].includes(2), 'two in one hour')
    },
  },
}

// ---- the dashboards' structure ----

for (const d of [guardrails, pipeline]) {
  test(`${d.uid}: variables, data sources, and every panel has a query and an outcome check`, () => {
    assert.ok(d.schemaVersion >= 36 && d.schemaVersion <= 41)
    const v = (name: string) => d.templating.list.find((x) => x.name === name)
    assert.equal(v('datasource')?.query, 'grafana-clickhouse-datasource')
    assert.equal(v('database')?.type, 'constant')
    const declared = declaredMetricNames()
    const ids = new Set<number>()
    const sql: string[] = []
    for (const p of d.panels) {
      assert.ok(!ids.has(p.id), `duplicate id ${p.id}`)
      ids.add(p.id)
      for (const t of p.targets) {
        if (t.datasource.type === 'prometheus') {
          assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${prometheus}' })
          assert.equal(v('prometheus')?.query, 'prometheus')
          const m = unknownMetrics(t.expr ?? '', declared)
          assert.ok(m.used.length > 0, p.title)
          assert.deepEqual(m.unknown, [], `"${p.title}" reads metrics Gatewarden does not export`)
        } else {
          assert.deepEqual(t.datasource, { type: 'grafana-clickhouse-datasource', uid: '${datasource}' })
          const tables = [...(t.rawSql ?? '').matchAll(/\bFROM\s+(\$\{database\}\.\w+)/g)].map((x) => x[1]!)
          assert.ok(tables.length > 0, p.title)
          for (const table of tables)
            assert.match(table, /^\$\{database\}\.(alerts|rules|requests|dead_letters)$/, p.title)
          assert.equal(tables.includes('${database}.requests'), /raw `requests`/.test(p.description), p.title)
          if (/\$__timeInterval\(/.test(t.rawSql ?? '')) assert.ok(p.interval, `"${p.title}" min interval`)
          sql.push(p.title)
        }
      }
    }
    assert.deepEqual(
      [...new Set(sql)].sort(),
      Object.keys(checks[d.uid]!).sort(),
      'every SQL panel has a check',
    )
  })

  test(`${d.uid}: every SQL panel runs on an empty range too`, async () => {
    for (const p of d.panels.filter((x) => x.targets.every((t) => t.datasource.type !== 'prometheus')))
      await run(p, EMPTY)
  })

  for (const [title, check] of Object.entries(checks[d.uid]!))
    test(`${d.uid}: panel "${title}" shows the seeded numbers`, check)
}
