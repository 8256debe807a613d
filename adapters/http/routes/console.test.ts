import { test } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import { consoleAssets } from '../console-assets.js'
import { consoleRoutes } from './console.js'

// The console's files as Gatewarden serves them: the page, its modules, the vendored uPlot, nothing else.

const app = Fastify()
consoleRoutes(app, consoleAssets())

test('GET / is the console page, with a CSP allowing nothing but the same origin', async () => {
  const res = await app.inject({ method: 'GET', url: '/' })
  assert.equal(res.statusCode, 200)
  assert.match(String(res.headers['content-type']), /^text\/html/)
  assert.match(res.body, /<script type="module" src="console\/js\/main\.js"><\/script>/)
  const csp = String(res.headers['content-security-policy'])
  assert.match(csp, /default-src 'self'/)
  assert.doesNotMatch(csp, /unsafe-inline|https?:/)
})

test('modules, the stylesheet and uPlot (from its npm package) are served with their types', async () => {
  const cases: Array<[string, RegExp, RegExp]> = [
    ['/console/js/main.js', /^text\/javascript/, /from '\.\/api\.js'/],
    ['/console/js/pages/spend.js', /^text\/javascript/, /export async function spendPage/],
    ['/console/app.css', /^text\/css/, /:root/],
    ['/console/vendor/uplot.js', /^text\/javascript/, /export \{ uPlot as default \}/],
    ['/console/vendor/uplot.css', /^text\/css/, /\.uplot/],
  ]
  for (const [url, type, body] of cases) {
    const res = await app.inject({ method: 'GET', url })
    assert.equal(res.statusCode, 200, url)
    assert.match(String(res.headers['content-type']), type, url)
    assert.match(res.body, body, url)
  }
})

test('nothing outside the console folder, and no unknown file types', async () => {
  for (const url of [
    '/console/../package.json',
    '/console/%2e%2e/package.json',
    '/console/..%2f..%2fpackage.json',
    '/console/js/../../package.json',
    '/console/index.html.bak',
    '/console/missing.js',
  ]) {
    const res = await app.inject({ method: 'GET', url })
    assert.equal(res.statusCode, 404, url)
    assert.doesNotMatch(res.body, /"name": "gatewarden"/, url)
  }
})
