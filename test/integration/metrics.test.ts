import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import { litellmPayload } from '../support/events.js'
import { silentLog, testDataDir } from '../support/store.js'
import { until } from '../support/until.js'

// /metrics of a running Gatewarden: valid Prometheus text exposition (what `promtool check metrics` parses),
// with the per-budget gauges, alerts by type and state, and the Node runtime's own metrics.

const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop()
})

/** The text format's grammar: HELP and TYPE once per family, before its samples; samples well formed. */
function checkExposition(text: string): Map<string, string> {
  const types = new Map<string, string>()
  const helped = new Set<string>()
  const sample =
    /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)( -?\d+)?$/
  const family = (name: string) =>
    types.has(name)
      ? name
      : name.replace(/_(bucket|sum|count|total)$/, (m) => (types.has(name.slice(0, -m.length)) ? '' : m))
  for (const line of text.split('\n')) {
    if (line === '') continue
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta
      if (kind === 'HELP') {
        assert.ok(!helped.has(name!), `HELP twice for ${name}`)
        helped.add(name!)
      } else {
        assert.ok(!types.has(name!), `TYPE twice for ${name}`)
        assert.match(rest!, /^(counter|gauge|histogram|summary|untyped)$/, line)
        types.set(name!, rest!)
      }
      continue
    }
    if (line.startsWith('#')) continue // any other comment (e.g. `# UNIT`) is ignored by the text format
    const m = sample.exec(line)
    assert.ok(m, `not a valid sample line: ${line}`)
    assert.ok(types.has(family(m[1]!)), `sample before its TYPE: ${line}`)
  }
  return types
}

const value = (text: string, name: string, labels: Record<string, string>) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .map((l) => Number(l.split(' ').at(-1)))

test('/metrics is valid exposition text with budget gauges, alerts by type and state, and runtime metrics', async () => {
  const now = Date.now()
  const gw = await start(
    Config.parse({
      server: { port: 0 },
      store: { data_dir: testDataDir(), database: `metrics_${process.pid}` },
      writer: { max_batch_wait_ms: 5 },
      detectors: { tick: '200ms' },
      budgets: [
        { name: 'acme-daily', scope: { customer: 'acme' }, limit_usd: 1, period: 'day' },
        { name: 'each-customer', scope: { customer: '*' }, limit_usd: 100, period: 'month' },
      ],
    }),
    silentLog,
  )
  running.push(gw)
  // acme spends $0.90 of its $1 day within a minute; the same request 6 times from one key is a loop
  const payloads = Array.from({ length: 6 }, (_, i) =>
    litellmPayload({ id: `m-${i}`, customer: 'acme', key: 'key-m', cost: 0.15, ts: now - 30_000 + i * 1000 }),
  )
  const res = await gw.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(payloads),
  })
  assert.equal(res.json().accepted, 6)

  const text = await until('budget gauges and a loop alert on /metrics', async () => {
    const t = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body
    const spent = value(t, 'gatewarden_budget_spend_usd', { budget: 'acme-daily' })[0]
    const loops = value(t, 'gatewarden_alerts_open', { type: 'loop' })
    // the change is counted once the store has it, which may be a moment after it opened
    const changes = value(t, 'gatewarden_alert_changes_total', { type: 'loop', state: 'firing' })
    // the event-loop delay gauges appear once the loop has 5 samples since the previous scrape
    const delay = /^nodejs_eventloop_delay_p99[{ ]/m.test(t)
    return spent !== undefined &&
      Math.abs(spent - 0.9) < 1e-9 &&
      loops.length > 0 &&
      changes.length > 0 &&
      delay
      ? t
      : undefined
  })
  const types = checkExposition(text)

  const acme = { budget: 'acme-daily', scope: 'customer:acme', period: 'day' }
  assert.deepEqual(value(text, 'gatewarden_budget_limit_usd', acme), [1])
  assert.deepEqual(
    value(text, 'gatewarden_budget_spend_usd', { budget: 'each-customer', scope: 'customer:acme' }),
    [0.9],
  )
  // one burn rate per window of the default pairs (5m, 30m, 1h, 2h, 6h, 1d, 3d)
  const windows = text
    .split('\n')
    .filter((l) => l.startsWith('gatewarden_budget_burn_rate{') && l.includes('budget="acme-daily"'))
    .map((l) => /window="([^"]+)"/.exec(l)?.[1])
  assert.deepEqual(windows.sort(), ['1d', '1h', '2h', '30m', '3d', '5m', '6h'])
  // $0.90 within the last 5 minutes of a $1/day budget: 0.9 / (5/60 h) / (1/24 $/h) = 259.2x
  const burn5m = value(text, 'gatewarden_budget_burn_rate', { ...acme, window: '5m' })[0]!
  assert.ok(Math.abs(burn5m - 259.2) < 1e-6, String(burn5m))
  const exhausts = value(text, 'gatewarden_budget_exhausts_at_seconds', acme)[0]!
  assert.ok(exhausts * 1000 > now && exhausts * 1000 < now + 86_400_000, String(exhausts))
  assert.equal(types.get('gatewarden_budget_spend_usd'), 'gauge')

  assert.ok(value(text, 'gatewarden_alert_changes_total', { type: 'loop', state: 'firing' })[0]! >= 1)
  assert.equal(types.get('gatewarden_alert_changes_total'), 'counter')
  assert.ok(value(text, 'gatewarden_alerts_open', { type: 'loop', severity: 'page' })[0]! >= 1)

  // the runtime's metrics, from @opentelemetry/instrumentation-runtime-node (RSS is Gatewarden's own)
  for (const stat of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'])
    assert.equal(types.get(`nodejs_eventloop_delay_${stat}`), 'gauge', stat)
  for (const name of ['nodejs_eventloop_utilization', 'v8js_memory_heap_space_size', 'process_memory_usage'])
    assert.equal(types.get(name), 'gauge', name)
  assert.ok(value(text, 'v8js_memory_heap_used', { v8js_heap_space_name: 'old_space' })[0]! > 0)
  assert.ok(value(text, 'nodejs_eventloop_time_total', { nodejs_eventloop_state: 'active' })[0]! > 0)
  assert.equal(types.get('nodejs_eventloop_time_total'), 'counter')
  assert.equal(types.get('v8js_gc_duration'), 'histogram')
})
