import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { launchBrowser, type TestBrowser } from '../support/browser.js'
import { startConsoleGatewarden, type ConsoleGatewarden } from '../support/console-gatewarden.js'
import { seedConsole } from '../support/console-seed.js'

// The console of a Gatewarden with a token: the page itself loads, its data does not until the login form
// is given the right token; the token lives in the tab's sessionStorage and goes out as a bearer header.

const TOKEN = 'console-test-token-0123456789'
let gw: ConsoleGatewarden
let browser: TestBrowser

before(async () => {
  gw = await startConsoleGatewarden('console-login', { GATEWARDEN_AUTH_TOKEN: TOKEN })
  await seedConsole(gw.url, Date.now(), TOKEN, 200)
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  await gw?.stop()
})

test('with a token: login form, a wrong token refused, the right one kept for the tab, sign out', async () => {
  assert.equal((await fetch(`${gw.url}/api/cost`)).status, 401, 'the API needs the token')
  assert.equal((await fetch(`${gw.url}/`)).status, 200, 'the page (no data in it) loads without')

  const page = await browser.page()
  const bearer: string[] = []
  page.on('request', (req) => {
    if (req.url().includes('/api/')) bearer.push(req.headers().authorization ?? '')
  })
  await page.goto(`${gw.url}/#/spend`)
  await page.locator('form#login').waitFor()
  await browser.screenshot(page, 'console-login')

  await page.locator('#token').fill('not-the-token-at-all')
  await page.locator('form#login button[type=submit]').click()
  await page.locator('#login-error', { hasText: 'refused' }).waitFor()
  assert.equal(await page.locator('#spend-chart').count(), 0)

  await page.locator('#token').fill(TOKEN)
  await page.locator('form#login button[type=submit]').click()
  await page.locator('#spend-chart canvas').waitFor()
  assert.equal(await page.evaluate('sessionStorage.getItem("gatewarden.token")'), TOKEN)
  assert.ok(bearer.includes(`Bearer ${TOKEN}`), 'API calls carry the bearer token')
  assert.ok(bearer.includes('Bearer not-the-token-at-all'))

  // a reload keeps the tab signed in; the other pages load with it too
  await page.reload()
  await page.locator('#spend-chart canvas').waitFor()
  await page.goto(`${gw.url}/#/rules`)
  await page.locator('#active-rules').waitFor()
  await browser.screenshot(page, 'console-login-signed-in')

  await page.locator('#signout').click()
  await page.locator('form#login').waitFor()
  assert.equal(await page.evaluate('sessionStorage.getItem("gatewarden.token")'), null)
  await page.close()
})
