import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { ReplayReport } from '../../services/replay/report.js'
import {
  spawnGatewarden,
  stopGracefully,
  killHard,
  type GatewardenProcess,
} from '../support/gatewarden-process.js'
import { runCli } from '../support/cli-run.js'
import { cleanPayload, replayScenario } from '../support/replay-traffic.js'

// `gatewarden replay` as users run it (the built CLI as a child process): on a generated file with a
// planted loop, a planted budget exhaustion and clean traffic, then on the store a short-lived
// `gatewarden start` filled with the same payloads, which must give the same findings.

const TICK = 5_000
const work = mkdtempSync(join(tmpdir(), 'gw-replay-'))
const dataDir = join(work, 'data')
const configFile = join(work, 'gatewarden.yaml')
const ndjson = join(work, 'history.ndjson')
const scenario = replayScenario()
const { planted } = scenario
const t0 = Date.UTC(2026, 2, 3, 9)
// a server store (CI with CLICKHOUSE_URL) is shared: use a database of our own
const database = `replay_${process.pid}`
const children: GatewardenProcess[] = []

/** Invalid lines planted in the file (1-based line numbers) and one duplicated payload. */
const INVALID_LINES = [3, 101, 2002]

before(() => {
  writeFileSync(
    configFile,
    [
      'budgets:',
      '  - { name: acme-daily, scope: { customer: acme }, limit_usd: 5, period: day }',
      '  - { name: each-customer-daily, scope: { customer: "*" }, limit_usd: 50, period: day }',
      '  - { name: all-monthly, scope: {}, limit_usd: 20000, period: month }',
      '',
    ].join('\n'),
  )
  const lines = scenario.payloads.map((p) => JSON.stringify(p))
  const noId = cleanPayload({ id: 'x', ts: t0, customer: 'c', key: 'k', trace: 't', prompt: 'p', cost: 0.01 })
  delete noId.id
  delete noId.litellm_call_id
  const negative = { ...scenario.payloads[10]!, litellm_call_id: 'negative-cost', response_cost: -1 }
  const invalid = ['{ this is not json', JSON.stringify(noId), JSON.stringify(negative)]
  INVALID_LINES.forEach((line, i) => lines.splice(line - 1, 0, invalid[i]!))
  lines.push(JSON.stringify(scenario.payloads[500]), '')
  writeFileSync(ndjson, lines.join('\n'))
  writeFileSync(`${ndjson}.gz`, gzipSync(lines.join('\n')))
  writeFileSync(join(work, 'history.json'), JSON.stringify(scenario.payloads, null, 2))
})

after(async () => {
  for (const c of children) await killHard(c)
  rmSync(work, { recursive: true, force: true })
})

function env(): Record<string, string> {
  return {
    GATEWARDEN_CONFIG: configFile,
    GATEWARDEN_DATA_DIR: dataDir,
    CLICKHOUSE_DATABASE: database,
    ...(process.env.CLICKHOUSE_URL ? { CLICKHOUSE_URL: process.env.CLICKHOUSE_URL } : {}),
  }
}

/** Runs `node dist/services/cli.js <args>` to its end (test/support/cli-run.ts). */
const cli = (args: string[]) => runCli(args, env(), 120_000)

async function replayJson(args: string[]): Promise<ReplayReport> {
  const r = await cli(['replay', ...args, '--json'])
  assert.equal(r.code, 0, r.stderr)
  // stdout is one JSON object and nothing else
  return JSON.parse(r.stdout) as ReplayReport
}

const incident = (f: { type: string; scope: { kind: string; id: string } }) =>
  `${f.type} ${f.scope.kind}:${f.scope.id}`
/** The first tick after `ts`: budget detectors see an event at the next tick (ticks on multiples of `tick`). */
const tickAfter = (ts: number) => Math.floor(ts / TICK) * TICK + TICK
const comparable = (r: ReplayReport) =>
  r.findings.map((f) => ({
    type: f.type,
    key: f.dedupe_key,
    state: f.state,
    at: f.at,
    severity: f.severity,
    summary: f.summary,
  }))

let fromFile: ReplayReport

test('replay <file.ndjson> --json: exactly the planted incidents, at the planted times; invalid lines counted', async () => {
  const r = await replayJson([ndjson])
  fromFile = r
  assert.equal(r.source.kind, 'file')
  assert.equal(r.stats.events, scenario.payloads.length)
  assert.equal(r.stats.invalid, 3)
  assert.deepEqual(
    r.invalid.map((i) => i.line),
    INVALID_LINES,
  )
  assert.match(r.invalid[0]!.reason, /not JSON/)
  assert.match(r.invalid[1]!.reason, /id/)
  assert.match(r.invalid[2]!.reason, /negative/)
  assert.equal(r.stats.duplicates, 1)

  // only the planted incidents: a loop (counted per key and per trace) and acme's budget; the clean
  // traffic (60 customers under a $50 daily budget each, $20,000 monthly overall) fires nothing
  const incidents = [...new Set(r.findings.map(incident))].sort()
  assert.deepEqual(
    incidents,
    [
      'budget_exhaustion customer:acme',
      'burn_rate customer:acme',
      'loop key:key-loop',
      'loop trace:trace-loop',
    ],
    JSON.stringify(
      r.findings.map((f) => [f.time, f.state, f.summary]),
      null,
      1,
    ),
  )

  // the loop fires on its 5th repeat (threshold 5) and resolves a window (60s) after the last one
  for (const kind of ['key', 'trace']) {
    const loop = r.findings.filter((f) => f.type === 'loop' && f.scope.kind === kind)
    assert.deepEqual(
      loop.map((f) => f.state),
      ['firing', 'resolved'],
    )
    assert.equal(loop[0]!.at, planted.loop.repeats[4])
    assert.match(loop[0]!.summary, /5|repeat/)
    assert.ok(
      loop[1]!.at >= planted.loop.repeats[5]! + 60_000 &&
        loop[1]!.at <= planted.loop.repeats[5]! + 60_000 + TICK,
    )
  }

  // acme: $0.125 a request against $5/day reaches 100% with its 40th request; seen at the next tick
  const budget = r.findings.filter((f) => f.type === 'budget_exhaustion')
  assert.ok(budget.every((f) => f.details.budget === planted.budget.name))
  const exhausted = budget.find((f) => f.details.threshold === 1 && f.state === 'firing')
  assert.ok(exhausted, JSON.stringify(budget.map((f) => f.summary)))
  assert.equal(exhausted.at, tickAfter(planted.budget.spends[39]!))
  assert.equal(exhausted.details.period_spend_usd, 5)
  const thresholds = budget
    .filter((f) => f.details.kind === 'threshold' && f.state === 'firing')
    .map((f) => f.details.threshold)
  assert.deepEqual(thresholds, [0.5, 0.8, 0.95, 1])
  assert.equal(budget.find((f) => f.details.threshold === 0.5)!.at, tickAfter(planted.budget.spends[19]!))

  // burning at 48x the sustainable $5/24h: the 1h/5m page pair fires during the spree, resolves after it
  const burn = r.findings.filter((f) => f.type === 'burn_rate')
  assert.deepEqual(
    burn.map((f) => [f.state, f.severity]),
    [
      ['firing', 'page'],
      ['resolved', 'page'],
    ],
  )
  assert.ok(burn[0]!.at > planted.budget.spends[0]! && burn[0]!.at < planted.budget.spends[39]!)
  assert.ok(burn[1]!.at > planted.budget.spends[47]!)

  // everything in time order, every time inside the planted incidents
  const ats = r.findings.map((f) => f.at)
  assert.deepEqual(
    ats,
    [...ats].sort((a, b) => a - b),
  )
  assert.equal(r.stats.by_type.loop.incidents, 2)
  assert.equal(r.stats.by_type.zombie_agent.incidents, 0)
})

test('replay <file> (human): a table of the planted incidents and the summary', async () => {
  const r = await cli(['replay', ndjson])
  assert.equal(r.code, 0, r.stderr)
  const out = r.stdout
  assert.match(out, /TIME \(UTC\)\s+TYPE\s+SEVERITY\s+STATE\s+SCOPE\s+SUMMARY/)
  const loopAt = new Date(planted.loop.repeats[4]!).toISOString().replace('T', ' ').replace('Z', '')
  assert.match(out, new RegExp(`${loopAt}\\s+loop\\s+\\w+\\s+firing\\s+key:key-loop`))
  assert.match(out, /budget_exhaustion\s+page\s+firing\s+customer:acme\s+customer acme exhausted/)
  assert.match(out, /burn_rate\s+page\s+firing\s+customer:acme/)
  assert.match(out, new RegExp(`events read\\s+${scenario.payloads.length.toLocaleString('en-US')}`))
  assert.match(out, /invalid\s+3\n\s+line 3: not JSON/)
  assert.match(out, /duplicates\s+1/)
  assert.doesNotMatch(out, /cust-\d+/, 'no finding about clean customers')
  assert.equal(r.stderr, '', 'no progress bar when stderr is not a terminal')
})

test('replay of the same history gzipped, or as one pretty-printed JSON array: the same findings', async () => {
  const gz = await replayJson([`${ndjson}.gz`])
  assert.deepEqual(comparable(gz), comparable(fromFile))
  assert.equal(gz.stats.invalid, 3)
  const arr = await replayJson([join(work, 'history.json')])
  assert.equal(arr.source.kind === 'file' && arr.source.format, 'json')
  assert.deepEqual(comparable(arr), comparable(fromFile))
  assert.equal(arr.stats.invalid, 0)
})

test('replay <file> --enforce: the rules enforcement would have made, how long each held, what it would have saved', async () => {
  const enforceConfig = join(work, 'enforce.yaml')
  writeFileSync(
    enforceConfig,
    [
      'budgets:',
      '  - { name: acme-daily, scope: { customer: acme }, limit_usd: 5, period: day, on_exhausted: { action: block } }',
      'detectors:',
      "  loop: { action: { action: downgrade, map: { 'gpt-4o': gpt-4o-mini } } }",
      'enforcement:',
      '  mode: dry_run',
      '',
    ].join('\n'),
  )
  const r = await replayJson([ndjson, '--enforce', '--config', enforceConfig])
  const rules = r.enforcement!.rules
  const byScope = Object.fromEntries(rules.map((s) => [`${s.rule.scope.kind}:${s.rule.scope.id}`, s]))
  assert.deepEqual(Object.keys(byScope).sort(), ['customer:acme', 'key:key-loop'])
  // acme reaches its $5 at its 40th request; the block made at the next tick stops requests 41..48
  const acme = byScope['customer:acme']!
  assert.deepEqual(acme.rule.action, { action: 'block' })
  assert.equal(acme.rule.mode, 'dry_run')
  assert.equal(acme.blocked, 8)
  assert.equal(acme.saved_usd, 8 * planted.budget.costEach)
  assert.equal(acme.rule.created_at, tickAfter(planted.budget.spends[39]!))
  assert.equal(acme.held_ms, 15 * 60_000, 'the default block TTL')
  assert.equal(acme.rule.ended_by, 'expiry')
  // the loop fires at its 5th repeat; the 6th is downgraded and re-priced at gpt-4o-mini
  const loop = byScope['key:key-loop']!
  assert.equal(loop.downgraded, 1)
  const mini = (425 * 0.15 + 105 * 0.6) / 1e6
  assert.equal(Math.round(loop.saved_usd * 1e8), Math.round((0.01 - mini) * 1e8))
  assert.equal(loop.rule.ended_by, 'alert_resolved')
  assert.equal(r.enforcement!.totals.saved_usd, Math.round((acme.saved_usd + loop.saved_usd) * 1e8) / 1e8)
  // the human report lists both rules and the total
  const human = await cli(['replay', ndjson, '--enforce', '--config', enforceConfig])
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /Guardrail rules \(replay --enforce/)
  assert.match(human.stdout, /customer:acme\s+block/)
  assert.match(human.stdout, /2 rules would have caught \d+ calls costing \$[\d.]+ and saved \$[\d.]+/)
})

test('usage errors exit 2 with a message', async () => {
  const none = await cli(['replay'])
  assert.equal(none.code, 2)
  assert.match(none.stderr, /give a file of LiteLLM payloads, or --from/)
  const bad = await cli(['replay', '--from', 'yesterday'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--from "yesterday" is not an ISO-8601 instant/)
  const missing = await cli(['replay', join(work, 'nope.ndjson')])
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /cannot read .*nope\.ndjson/)
})

test('replay --from/--to over the store a short-lived `gatewarden start` filled: the same findings as the file', async () => {
  const gw = await spawnGatewarden(env())
  children.push(gw)
  for (let i = 0; i < scenario.payloads.length; i += 250) {
    const res = await fetch(`${gw.url}/ingest/litellm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(scenario.payloads.slice(i, i + 250)),
    })
    assert.equal(res.status, 200, await res.text())
  }
  const range = ['--from', new Date(t0).toISOString(), '--to', new Date(scenario.lastTs + 1).toISOString()]

  if (!process.env.CLICKHOUSE_URL) {
    // the embedded store serves one process: replay says who holds the directory instead of failing obscurely
    const busy = await cli(['replay', ...range])
    assert.equal(busy.code, 1)
    assert.match(busy.stderr, new RegExp(`data directory .* is in use by process ${gw.child.pid}`))
    assert.match(busy.stderr, /stop that process/)
    assert.equal(busy.stdout, '')
  }
  assert.equal(await stopGracefully(gw), 0)

  const r = await replayJson(range)
  assert.equal(r.source.kind, 'store')
  assert.equal(r.stats.events, fromFile.stats.events)
  assert.equal(r.stats.warmup_events, 0)
  assert.deepEqual(comparable(r), comparable(fromFile))

  // a range inside the history: the acme spree warmed up from the day's start, so its thresholds are
  // not re-fired as if the period began at --from; only what happens inside the range is reported
  const late = await replayJson([
    '--from',
    new Date(planted.budget.spends[30]!).toISOString(),
    '--to',
    range[3]!,
  ])
  assert.ok(late.stats.warmup_events > 0)
  const lateThresholds = late.findings.filter(
    (f) => f.type === 'budget_exhaustion' && f.details.kind === 'threshold',
  )
  assert.deepEqual(
    lateThresholds.map((f) => f.details.threshold),
    [0.8, 0.95, 1],
  )
  const cold = await replayJson([
    '--no-warmup',
    '--from',
    new Date(planted.budget.spends[30]!).toISOString(),
    '--to',
    range[3]!,
  ])
  assert.equal(cold.stats.warmup_events, 0)
  // without warm-up the period starts at --from for the detectors: acme's $2.25 inside the range crosses nothing
  assert.equal(
    cold.findings.filter((f) => f.type === 'budget_exhaustion' && f.details.kind === 'threshold').length,
    0,
  )
})
