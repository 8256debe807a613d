import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import { litellmPayload } from '../support/events.js'
import { goTool, runTool } from '../support/go-tools.js'
import { silentLog, testDataDir } from '../support/store.js'
import { until } from '../support/until.js'

// `promtool check metrics` on a running Gatewarden's /metrics, over HTTP: promtool's check is client_golang's
// promlint, built by scripts/promlint/install.sh (scripts/promlint/main.go). The store is seeded so that the
// families that only appear with data are there too: budget gauges, rules in force, open alerts, alert
// changes, dead letters, stored batches, and the runtime's event-loop delay.

const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop()
})

/** The metric families of an exposition (TYPE lines). */
const families = (text: string) =>
  new Set([...text.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) /gm)].map((m) => m[1]!))

test('promlint (promtool check metrics) finds no problem in /metrics with every family seeded', async () => {
  const promlint = goTool('promlint')
  // the linter is the real one: a known-bad exposition is reported, with promtool's exit status
  const bad = runTool(promlint, [], {
    input: '# HELP req_ms Requests.\n# TYPE req_ms counter\nreq_ms 1\n',
  })
  assert.equal(bad.status, 3, bad.stderr)
  assert.match(bad.stdout, /^req_ms: counter metrics should have "_total" suffix$/m)

  const now = Date.now()
  const gw = await start(
    Config.parse({
      server: { host: '127.0.0.1', port: 0 },
      store: { data_dir: testDataDir(), database: `promlint_${process.pid}` },
      writer: { max_batch_wait_ms: 5 },
      detectors: {
        tick: '1h', // driven below
        allowed_lateness: '0s',
        loop: {
          threshold: 5,
          window: '60s',
          action: { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } },
        },
      },
      enforcement: { mode: 'enforce', tick: '1h' },
      budgets: [
        { name: 'acme-daily', scope: { customer: 'acme' }, limit_usd: 1, period: 'day' },
        { name: 'each-customer', scope: { customer: '*' }, limit_usd: 100, period: 'month' },
      ],
    }),
    silentLog,
  )
  running.push(gw)
  const base = `http://${gw.address.host}:${gw.address.port}`
  // six identical requests from one key within a minute: a loop, a downgrade rule; acme spends $0.90 of $1;
  // one item that is not an object is a dead letter (GW_DL_NOT_OBJECT)
  const body = [
    ...Array.from({ length: 6 }, (_, i) =>
      litellmPayload({
        id: `pl-${i}`,
        customer: 'acme',
        key: 'key-pl',
        model: 'gpt-4o',
        cost: 0.15,
        ts: now - 30_000 + i * 1000,
      }),
    ),
    'not an object',
  ]
  const res = await fetch(`${base}/ingest/litellm`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  assert.equal(res.status, 200, await res.clone().text())
  assert.equal(((await res.json()) as { accepted: number }).accepted, 6)

  const want = [
    'gatewarden_budget_spend_usd',
    'gatewarden_budget_limit_usd',
    'gatewarden_budget_burn_rate',
    'gatewarden_budget_exhausts_at_seconds',
    'gatewarden_rules_in_force',
    'gatewarden_alerts_open',
    'gatewarden_alert_changes_total',
    'gatewarden_dead_letters_total',
    'gatewarden_events_accepted_total',
    'gatewarden_store_write_seconds',
    'nodejs_eventloop_delay_p99',
    'v8js_gc_duration',
  ]
  const text = await until('every seeded family on /metrics', async () => {
    await gw.engine.tick()
    await gw.enforcer!.tick()
    await gw.enforcer!.flush()
    const t = await (await fetch(`${base}/metrics`)).text()
    const have = families(t)
    // a family is listed (TYPE) once it has an instrument; wait for the seeded series themselves
    const seeded =
      /^gatewarden_rules_in_force\{[^}]*action="downgrade"[^}]*\} 1$/m.test(t) &&
      /^gatewarden_alerts_open\{[^}]*type="loop"/m.test(t) &&
      /^gatewarden_budget_spend_usd\{[^}]*budget="acme-daily"/m.test(t) &&
      /^gatewarden_dead_letters_total\{/m.test(t) &&
      /^nodejs_eventloop_delay_p99[{ ]/m.test(t)
    return seeded && want.every((f) => have.has(f)) ? t : undefined
  })

  const out = runTool(promlint, [], { input: text })
  assert.equal(out.stderr, '')
  assert.equal(out.stdout, '', `promlint problems:\n${out.stdout}`)
  assert.equal(out.status, 0)
})
