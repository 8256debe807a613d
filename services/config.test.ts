import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from './config.js'

const dir = mkdtempSync(join(tmpdir(), 'gw-config-'))
const file = (name: string, text: string) => {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

test('defaults: loopback, port 4318, ./data, prompts off', () => {
  const c = loadConfig({}, undefined)
  assert.equal(c.server.host, '127.0.0.1')
  assert.equal(c.server.port, 4318)
  assert.equal(c.store.data_dir, './data')
  assert.equal(c.privacy.store_prompts, false)
  assert.deepEqual(c.attribution.customer.slice(0, 2), ['end_user', 'metadata.user_api_key_end_user_id'])
})

test('file then env overrides', () => {
  const p = file(
    'a.yaml',
    'server:\n  port: 5000\nstore:\n  data_dir: /x\nattribution:\n  customer: ["tag:tenant"]\n',
  )
  const c = loadConfig({ PORT: '6000', GATEWARDEN_DATA_DIR: '/y', GATEWARDEN_STORE_PROMPTS: 'true' }, p)
  assert.equal(c.server.port, 6000)
  assert.equal(c.store.data_dir, '/y')
  assert.equal(c.privacy.store_prompts, true)
  assert.deepEqual(c.attribution.customer, ['tag:tenant'])
})

test('invalid values name the key and the env variable', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }), /server\.port \(from env PORT\)/)
  assert.throws(() => loadConfig({}, file('b.yaml', 'server:\n  prot: 1\n')), /server.*prot/)
  assert.throws(
    () => loadConfig({}, file('c.yaml', 'writer:\n  max_batch_rows: -1\n')),
    /writer\.max_batch_rows/,
  )
  assert.throws(() => loadConfig({}, file('d.yaml', 'a: [\n')), /not valid YAML/)
  assert.throws(() => loadConfig({}, join(dir, 'missing.yaml')), /not found/)
  assert.throws(() => loadConfig({ CLICKHOUSE_URL: 'ftp://x' }), /store\.clickhouse_url/)
  assert.throws(
    () => loadConfig({}, file('e.yaml', 'attribution:\n  custmer: [end_user]\n')),
    /attribution.*custmer/,
  )
  assert.throws(
    () => loadConfig({}, file('f.yaml', 'attribution:\n  otel:\n    custmer: [user.id]\n')),
    /attribution\.otel.*custmer/,
  )
})

test('binding beyond loopback requires a token', () => {
  assert.throws(() => loadConfig({ HOST: '0.0.0.0' }), /server\.auth_token.*required/)
  assert.equal(
    loadConfig({ HOST: '0.0.0.0', GATEWARDEN_AUTH_TOKEN: 'a-long-enough-token' }).server.host,
    '0.0.0.0',
  )
  assert.throws(() => loadConfig({ GATEWARDEN_AUTH_TOKEN: 'short' }), /at least 16/)
})
