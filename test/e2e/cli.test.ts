import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CostAnswer } from '../../schemas/api.js'
import { runCli } from '../support/cli-run.js'
import { litellmPayload } from '../support/events.js'
import {
  spawnGatewarden,
  stopGracefully,
  killHard,
  type GatewardenProcess,
} from '../support/gatewarden-process.js'

// `gatewarden cost|top|alerts|rules|budgets` as users run them: the built CLI as a child process against a
// running `gatewarden start` (child process too), then directly on its store once it has stopped.

const TOKEN = 'cli-test-token-0123456789abcdef'
const work = mkdtempSync(join(tmpdir(), 'gw-cli-'))
const dataDir = join(work, 'data')
const configFile = join(work, 'gatewarden.yaml')
const database = `cli_${process.pid}`
const DAY = 86_400_000
/** Two whole UTC days ending at the start of today: inside retention whenever the test runs. */
const FROM = Math.floor(Date.now() / DAY) * DAY - 2 * DAY
const TO = FROM + 2 * DAY
const range = ['--from', new Date(FROM).toISOString(), '--to', new Date(TO).toISOString()]
let gw: GatewardenProcess

const env = (extra: Record<string, string | undefined> = {}) => ({
  GATEWARDEN_CONFIG: configFile,
  GATEWARDEN_DATA_DIR: dataDir,
  CLICKHOUSE_DATABASE: database,
  GATEWARDEN_AUTH_TOKEN: TOKEN,
  ...extra,
})
const cli = (args: string[], extra?: Record<string, string | undefined>) => runCli(args, env(extra))

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${gw.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers },
  })
  assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`)
  return (await res.json()) as T
}

/** The `total` line of a cost table: its cost_usd cell (the first number after the label). */
function tableTotal(out: string): string {
  const line = out.trimEnd().split('\n').at(-1)!
  assert.match(line, /^total\s/, out)
  return line.split(/\s+/)[1]!
}

before(async () => {
  writeFileSync(
    configFile,
    [
      'budgets:',
      '  - { name: acme-monthly, scope: { customer: acme }, limit_usd: 500, period: month }',
      '',
    ].join('\n'),
  )
  gw = await spawnGatewarden({ ...env(), GATEWARDEN_ENFORCEMENT_MODE: 'dry_run' })
  const payloads = []
  const models = ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet']
  const customers = ['acme', 'acme', 'globex', 'initech', '']
  for (let i = 0; i < 120; i++) {
    payloads.push(
      litellmPayload({
        id: `cli-${i}`,
        customer: customers[i % customers.length],
        model: models[i % 3],
        cost: 0.0001 * ((i * 37) % 101) + 0.00005,
        ts: FROM + i * 1_400_000,
      }),
    )
  }
  // and a few now, for the month-to-date ranking
  for (let i = 0; i < 10; i++)
    payloads.push(
      litellmPayload({
        id: `cli-now-${i}`,
        customer: customers[i % 5],
        cost: 0.01 * (i + 1),
        ts: Date.now() - i * 1000,
      }),
    )
  const out = await api<{ accepted: number }>('/ingest/litellm', {
    method: 'POST',
    body: JSON.stringify(payloads),
  })
  assert.equal(out.accepted, payloads.length)
})

after(async () => {
  if (gw) await killHard(gw)
  rmSync(work, { recursive: true, force: true })
})

test('cost --customer acme --by model,endpoint: an aligned table whose total is /api/cost total; --json and --csv agree', async () => {
  const args = ['cost', '--customer', 'acme', '--by', 'model,endpoint', ...range, '--url', gw.url]
  const table = await cli(args)
  assert.equal(table.code, 0, table.stderr)
  const q = `group_by=model,endpoint&customer=acme&from=${new Date(FROM).toISOString()}&to=${new Date(TO).toISOString()}`
  const answer = await api<CostAnswer>(`/api/cost?${q}`)
  assert.ok(answer.rows.length >= 3 && answer.total.cost_usd > 0)
  assert.equal(tableTotal(table.stdout), answer.total.cost_usd.toFixed(4))
  const lines = table.stdout.trimEnd().split('\n')
  // title, header, rule, one line per row, rule, total
  assert.equal(lines.length, 3 + answer.rows.length + 2)
  assert.match(lines[1]!, /^model\s+endpoint\s+cost_usd\s+requests/)
  const costEnd = lines[1]!.indexOf('cost_usd') + 'cost_usd'.length
  for (const l of lines.slice(3))
    if (!l.startsWith('-'))
      assert.match(l.slice(costEnd - 6, costEnd), /^\d*\.\d{4}$|^\s*\d+\.\d{4}$/, `aligned: ${l}`)

  const json = await cli([...args, '--json'])
  assert.equal(json.code, 0, json.stderr)
  assert.deepEqual((JSON.parse(json.stdout) as CostAnswer).total, answer.total)
  assert.deepEqual((JSON.parse(json.stdout) as CostAnswer).rows, answer.rows)

  const csv = await cli([...args, '--csv'])
  assert.equal(csv.code, 0, csv.stderr)
  const csvLines = csv.stdout.trimEnd().split('\r\n')
  assert.equal(
    csvLines[0],
    'model,endpoint,cost_usd,requests,failures,input_tokens,output_tokens,cached_tokens',
  )
  assert.equal(csvLines.length, 1 + answer.rows.length)
})

test('top customers --period mtd: the top rows and total of /api/cost?period=mtd&top=10; --compare adds the change', async () => {
  const top = await cli(['top', 'customers', '--url', gw.url])
  assert.equal(top.code, 0, top.stderr)
  const answer = await api<CostAnswer>('/api/cost?group_by=customer&period=mtd&top=10')
  assert.ok(answer.total.cost_usd > 0)
  assert.equal(tableTotal(top.stdout), answer.total.cost_usd.toFixed(4))
  assert.match(top.stdout, /^cost .*\(mtd, UTC\)/)
  for (const r of answer.rows)
    assert.ok(top.stdout.includes(r.cost_usd.toFixed(4)), `row ${String(r.customer)}`)

  const cmp = await cli(['top', 'models', '--period', 'last_7d', '--compare', '--json', '--url', gw.url])
  assert.equal(cmp.code, 0, cmp.stderr)
  const body = JSON.parse(cmp.stdout) as CostAnswer
  assert.ok(body.previous)
  assert.deepEqual(
    body,
    await api<CostAnswer>('/api/cost?group_by=model&period=last_7d&compare=previous&top=10'),
  )
})

test('rules lists a rule and `rules lift ID` lifts it in the API; budgets and alerts list', async () => {
  const rule = await api<{ id: string }>('/api/rules', {
    method: 'POST',
    body: JSON.stringify({
      scope: { kind: 'customer', id: 'globex' },
      action: { action: 'block' },
      by: 'test',
      why: 'cli test',
      duration: '1h',
    }),
  })
  const listed = await cli(['rules', '--url', gw.url])
  assert.equal(listed.code, 0, listed.stderr)
  assert.match(listed.stdout, new RegExp(`${rule.id}\\s+\\w+\\s+dry_run\\s+customer=globex\\s+block`))
  const lift = await cli(['rules', 'lift', rule.id, '--by', 'cli-test', '--url', gw.url])
  assert.equal(lift.code, 0, lift.stderr)
  assert.match(lift.stdout, /lifted/)
  const after = await api<{ rule: { state: string; ended_by: string } }>(`/api/rules/${rule.id}`)
  assert.equal(after.rule.state, 'lifted')
  assert.match(after.rule.ended_by, /cli-test/)

  const budgets = await cli(['budgets', '--url', gw.url])
  assert.equal(budgets.code, 0, budgets.stderr)
  assert.match(budgets.stdout, /acme-monthly\s+customer=acme\s+500\.00\s+month\s+UTC\s+config/)
  const alerts = await cli(['alerts', '--all', '--url', gw.url])
  assert.equal(alerts.code, 0, alerts.stderr)
  assert.match(alerts.stdout, /^id\s+state\s+severity\s+type/)
})

test('report --customer globex --month <this month>: totals of /api/cost, the rule on globex; --format html is one file', async () => {
  const now = new Date()
  const month = now.toISOString().slice(0, 7)
  const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)
  const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)
  const q = (f: number, t: number) =>
    `/api/cost?group_by=model&customer=globex&from=${new Date(f).toISOString()}&to=${new Date(t).toISOString()}`
  const cur = await api<CostAnswer>(q(from, to))
  const prev = await api<CostAnswer>(q(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1), from))
  assert.ok(cur.total.cost_usd > 0)
  const md = await cli(['report', '--customer', 'globex', '--month', month, '--url', gw.url])
  assert.equal(md.code, 0, md.stderr)
  assert.match(md.stdout, /^# Spend report: globex, /)
  const summary = md.stdout.split('\n').find((l) => l.startsWith('| cost (USD) |'))!
  assert.deepEqual(
    summary
      .split('|')
      .slice(2, 4)
      .map((c) => c.trim()),
    [cur.total.cost_usd.toFixed(4), prev.total.cost_usd.toFixed(4)],
  )
  for (const r of cur.rows)
    assert.ok(md.stdout.includes(`| ${String(r.model)} | ${r.cost_usd.toFixed(4)} |`), String(r.model))
  assert.match(md.stdout, /## Guardrail rules on the customer\n\n\| rule \|.*\n.*\n\| \S+ \| block \| manual/)
  const html = await cli([
    'report',
    '--customer',
    'globex',
    '--month',
    month,
    '--format',
    'html',
    '--url',
    gw.url,
  ])
  assert.equal(html.code, 0, html.stderr)
  assert.match(html.stdout, /^<!doctype html>/)
  assert.doesNotMatch(html.stdout, /<script|<link|src=|href=/i)
  assert.ok(html.stdout.includes(`<td class="n">${cur.total.cost_usd.toFixed(4)}</td>`))
  const bad = await cli(['report', '--customer', 'globex', '--month', 'october', '--url', gw.url])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--month "october": use YYYY-MM/)
})

test('errors are one line naming the fix: wrong token, no token, unreachable URL, unknown dimension, --store while running', async () => {
  const oneLine = (
    r: { code: number | null; stderr: string; stdout: string },
    code: number,
    pattern: RegExp,
  ) => {
    assert.equal(r.code, code, r.stderr)
    assert.equal(r.stdout, '')
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr)
    assert.match(r.stderr, pattern)
  }
  oneLine(
    await cli(['cost', '--url', gw.url], { GATEWARDEN_AUTH_TOKEN: 'wrong' }),
    1,
    /refused the token: set GATEWARDEN_AUTH_TOKEN/,
  )
  oneLine(
    await cli(['cost', '--url', gw.url], { GATEWARDEN_AUTH_TOKEN: '' }),
    1,
    /needs a token: export GATEWARDEN_AUTH_TOKEN/,
  )
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
  oneLine(
    await cli(['cost', '--url', `http://127.0.0.1:${port}`]),
    1,
    /cannot reach Gatewarden at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): start it/,
  )
  oneLine(
    await cli(['cost', '--by', 'customer,planet', '--url', gw.url]),
    2,
    /unknown dimension "planet" in --by: use one or more of customer, team/,
  )
  oneLine(
    await cli(['cost', '--period', 'today', '--timezone', 'Mars/Olympus', '--url', gw.url]),
    1,
    /timezone: unknown time zone/,
  )
  oneLine(
    await cli(['cost', '--store']),
    1,
    new RegExp(`in use by process ${gw.child.pid}.*stop that process`),
  )
})

test('--store on the stopped Gatewarden reads the same numbers, read-only', async () => {
  const answer = await api<CostAnswer>(
    `/api/cost?group_by=model,endpoint&customer=acme&from=${new Date(FROM).toISOString()}&to=${new Date(TO).toISOString()}`,
  )
  assert.equal(await stopGracefully(gw), 0)
  const json = await cli([
    'cost',
    '--customer',
    'acme',
    '--by',
    'model,endpoint',
    ...range,
    '--store',
    '--json',
  ])
  assert.equal(json.code, 0, json.stderr)
  const body = JSON.parse(json.stdout) as CostAnswer
  assert.deepEqual(body.rows, answer.rows)
  assert.deepEqual(body.total, answer.total)
  const table = await cli([
    'cost',
    '--customer',
    'acme',
    '--by',
    'model,endpoint',
    ...range,
    '--store',
    dataDir,
  ])
  assert.equal(tableTotal(table.stdout), answer.total.cost_usd.toFixed(4))
  const rules = await cli(['rules', '--all', '--store'])
  assert.equal(rules.code, 0, rules.stderr)
  assert.match(rules.stdout, /lifted\s+dry_run\s+customer=globex/)
  const lift = await cli(['rules', 'lift', 'x', '--store'])
  assert.equal(lift.code, 1)
  assert.match(lift.stderr, /--store is read-only: lifting a rule needs a running Gatewarden/)
})
