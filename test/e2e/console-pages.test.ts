import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Locator } from 'playwright-core'
import { launchBrowser, type TestBrowser } from '../support/browser.js'
import { startConsoleGatewarden, type ConsoleGatewarden } from '../support/console-gatewarden.js'
import { getJson, postJson, seedConsole } from '../support/console-seed.js'
import { until } from '../support/until.js'
import { runCli } from '../support/cli-run.js'
import type { CostAnswer } from '../../schemas/api.js'

// The web console in headless Chromium against a real `gatewarden start` seeded through its ingest API:
// each page's numbers are read from the DOM and compared with what the API answers for the same query.

interface CostRow {
  [k: string]: string | number
  cost_usd: number
  requests: number
}
interface Alert {
  id: string
  type: string
  state: string
  dedupe_key: string
  silenced: boolean
}
const HOUR = 3_600_000
const DAY = 24 * HOUR

let gw: ConsoleGatewarden
let browser: TestBrowser
let seeded: Awaited<ReturnType<typeof seedConsole>>
const now = Date.now()

before(async () => {
  gw = await startConsoleGatewarden('console-pages')
  seeded = await seedConsole(gw.url, now)
  // the budget bars read the leader's per-budget gauges: wait for its first budget round
  await until('the budget gauges on /metrics', async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text()
    return /gatewarden_budget_spend_usd\{[^}]*budget="acme-monthly"/.test(text) ? true : undefined
  })
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  await gw?.stop()
})

/** The range a page asked the API for (its element carries it), and that it is the preset's. */
async function rangeOf(el: Locator, days: number): Promise<{ from: string; to: string }> {
  const from = (await el.getAttribute('data-from')) ?? ''
  const to = (await el.getAttribute('data-to')) ?? ''
  assert.equal(Date.parse(to) - Date.parse(from), days * DAY)
  assert.equal(Date.parse(to) % HOUR, 0)
  assert.ok(Date.parse(to) > now && Date.parse(to) <= Date.now() + HOUR)
  return { from, to }
}
const costApi = async (q: Record<string, string>) =>
  (await getJson<{ rows: CostRow[] }>(`${gw.url}/api/cost?${new URLSearchParams(q).toString()}`)).rows

test('the Spend page draws spend per day stacked by model, with the top customers as /api/cost ranks them', async () => {
  const page = await browser.page()
  await page.goto(`${gw.url}/#/spend/last_7d/model`)
  await page.locator('#spend-chart canvas').waitFor()
  const legend = await page
    .locator('#spend-chart .u-legend .u-series:not(:first-child) .u-label')
    .allTextContents()
  const range = await rangeOf(page.locator('#spend-chart'), 7)
  const models = await costApi({ group_by: 'model', ...range, limit: '8' })
  assert.ok(models.length >= 3)
  assert.deepEqual(new Set(legend), new Set(models.map((m) => String(m.model))))
  assert.equal(await page.locator('#spend-chart').getAttribute('data-series'), String(models.length))

  const customers = await costApi({ group_by: 'customer', ...range, limit: '10' })
  const shown = await page.locator('#top-customers tbody tr').evaluateAll((trs) =>
    trs.map((tr) => ({
      customer: tr.getAttribute('data-customer'),
      cost: Number(tr.querySelector('[data-testid=current]')?.getAttribute('data-value')),
    })),
  )
  assert.deepEqual(
    shown,
    customers.map((c) => ({ customer: c.customer, cost: c.cost_usd })),
  )
  // the previous period of the same length, from a second /api/cost call
  const before = {
    from: new Date(Date.parse(range.from) - 7 * DAY).toISOString(),
    to: range.from,
  }
  const previous = await costApi({ group_by: 'customer', customer: 'acme', ...before })
  assert.ok(previous[0]!.cost_usd > 0)
  const prevCell = page.locator('#top-customers tr[data-customer="acme"] [data-testid=previous]')
  assert.equal(Number(await prevCell.getAttribute('data-value')), previous[0]!.cost_usd)
  // the budget bar reads the budget's own gauges on /metrics
  const bar = page.locator('#top-customers tr[data-customer="acme"] .budget[data-budget="acme-monthly"]')
  assert.equal(await bar.getAttribute('data-limit'), '500')
  await browser.screenshot(page, 'console-spend')
  await page.close()
})

test("a customer's total on the Customer page equals /api/cost's and the CLI's, and all equal the seeded calls", async () => {
  for (const customer of ['acme', 'tenant/eu-west']) {
    const page = await browser.page()
    await page.goto(`${gw.url}/#/customer/${encodeURIComponent(customer)}/last_30d`)
    const total = page.locator('#customer-total')
    await total.waitFor()
    const range = await rangeOf(total, 30)
    const [row] = await costApi({ group_by: 'customer', customer, ...range })
    assert.ok(row && row.cost_usd > 0, customer)
    assert.equal(Number(await total.getAttribute('data-value')), row.cost_usd)
    // the CLI over the same range: the same number (one function answers both)
    const cli = await runCli(
      ['cost', '--customer', customer, '--from', range.from, '--to', range.to, '--json', '--url', gw.url],
      { GATEWARDEN_AUTH_TOKEN: undefined },
    )
    assert.equal(cli.code, 0, cli.stderr)
    assert.equal((JSON.parse(cli.stdout) as CostAnswer).total.cost_usd, row.cost_usd)
    // the store keeps 10 decimals per event
    assert.ok(
      Math.abs(row.cost_usd - seeded.costOf(customer)) < 1e-7,
      `${row.cost_usd} vs ${seeded.costOf(customer)}`,
    )
    assert.match((await total.textContent()) ?? '', /^\$[\d,]+\.\d{2,4}$/)
    // the breakdowns are the API's rows for the same filter
    const models = await costApi({ group_by: 'model', customer, ...range })
    assert.equal(await page.locator('#by-model tbody tr').count(), models.length)
    if (customer === 'acme') await browser.screenshot(page, 'console-customer')
    await page.close()
  }
})

test('lifting a rule from the Rules page lifts it in the API', async () => {
  const made = await postJson<{ id: string }>(`${gw.url}/api/rules`, {
    scope: { kind: 'customer', id: 'globex' },
    action: { action: 'block' },
    by: 'console-test',
    why: 'runaway batch job',
    duration: '1h',
  })
  assert.equal(made.status, 201)
  const page = await browser.page()
  await page.goto(`${gw.url}/#/rules`)
  const row = page.locator(`#active-rules tr[data-rule="${made.json.id}"]`)
  await row.waitFor()
  assert.match((await row.textContent()) ?? '', /runaway batch job/)
  await browser.screenshot(page, 'console-rules-before-lift')
  await row.locator('button.lift').click()
  await row.waitFor({ state: 'detached' })
  const got = await getJson<{ rule: { state: string; ended_by: string } }>(
    `${gw.url}/api/rules/${made.json.id}`,
  )
  assert.equal(got.rule.state, 'lifted')
  assert.equal(got.rule.ended_by, 'manual:console')
  await page.locator(`#rule-history tr[data-rule="${made.json.id}"] .state-lifted`).waitFor()
  await browser.screenshot(page, 'console-rules')
  await page.close()
})

test('a silence set from the Alerts page shows in /api/silences', async () => {
  const loop = await until('a firing loop alert', async () => {
    const { alerts } = await getJson<{ alerts: Alert[] }>(`${gw.url}/api/alerts?state=firing&type=loop`)
    return alerts.find((a) => a.dedupe_key.includes('key-loop'))
  })
  const page = await browser.page()
  await page.goto(`${gw.url}/#/alerts`)
  const form = page.locator(`form.silence-form[data-alert="${loop.id}"]`)
  await form.waitFor()
  await form.locator('select[name=duration]').selectOption('1h')
  await form.locator('input[name=comment]').fill('known retry storm')
  await form.locator('button[type=submit]').click()
  await page.locator('#silences tbody tr[data-silence]').first().waitFor()
  const { silences } = await getJson<{
    silences: Array<{
      matcher: { dedupe_key?: string }
      comment: string
      created_by: string
      expires_at: string
    }>
  }>(`${gw.url}/api/silences`)
  const s = silences.find((x) => x.matcher.dedupe_key === loop.dedupe_key)
  assert.ok(s, JSON.stringify(silences))
  assert.equal(s.comment, 'known retry storm')
  assert.equal(s.created_by, 'console')
  const left = Date.parse(s.expires_at) - Date.now()
  assert.ok(left > 0 && left <= HOUR, `expires in ${left} ms`)
  // the page shows it among the active silences (the alert's own `silenced` flag is set at its next change)
  const shown = (await page.locator('#silences tbody').textContent()) ?? ''
  assert.ok(shown.includes(`dedupe_key=${loop.dedupe_key}`) && shown.includes('known retry storm'), shown)
  await browser.screenshot(page, 'console-alerts')
  await page.close()
})

test('the Pipeline page lists the dead letters with their reasons and the ingest counters of /metrics', async () => {
  const page = await browser.page()
  await page.goto(`${gw.url}/#/pipeline`)
  await page.locator('#ingest-chart canvas').waitFor()
  const { dead_letters } = await getJson<{ dead_letters: Array<{ reason: string }> }>(
    `${gw.url}/api/dead-letters`,
  )
  assert.equal(dead_letters.length, 1)
  const text = (await page.locator('#dead-letters tbody').textContent()) ?? ''
  assert.ok(text.includes(dead_letters[0]!.reason), text)
  const metrics = await (await fetch(`${gw.url}/metrics`)).text()
  const accepted = /gatewarden_events_accepted_total\{source="litellm_http"[^}]*\} (\d+)/.exec(metrics)?.[1]
  assert.equal(accepted, String(seeded.accepted))
  const cell = page.locator('#ingest-counters tr[data-source="litellm_http"] td:nth-child(2)')
  assert.equal((await cell.textContent())?.replaceAll(',', ''), accepted)
  await browser.screenshot(page, 'console-pipeline')
  await page.close()
})
