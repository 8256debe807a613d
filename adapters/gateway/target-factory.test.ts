import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { isGatewardenError } from '../../core/errors.js'
import { GatewayTargetConfig } from '../../schemas/enforcement-config.js'
import { LiteLLMAdminTarget } from './litellm-admin-target.js'
import { createGatewayTargets } from './target-factory.js'
import { WebhookTarget } from './webhook-target.js'

const log = pino({ level: 'silent' })
const env: Record<string, string> = { LITELLM_MASTER: 'sk-master-secret', HOOK_SECRET: 'whsec', BLANK: '  ' }
const files: Record<string, string> = { '/run/secrets/litellm': 'sk-from-file\n', '/run/secrets/empty': '\n' }
const readFile = (p: string) => {
  const v = files[p]
  if (v === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' })
  return v
}
const build = (configs: unknown[]) =>
  createGatewayTargets(
    configs.map((c) => GatewayTargetConfig.parse(c)),
    { secrets: (k) => env[k], readFile, log },
  )
const configError = (want: RegExp) => (e: unknown) => {
  assert.ok(isGatewardenError(e, 'GW_CONFIG_INVALID'), String(e))
  assert.match(e.message, want)
  for (const secret of ['sk-master-secret', 'sk-from-file', 'whsec']) assert.ok(!e.message.includes(secret))
  return true
}

test('one target per config, named litellm-admin / webhook:<name>', () => {
  const targets = build([
    { type: 'litellm_admin', url: 'http://litellm:4000', master_key_env: 'LITELLM_MASTER' },
    {
      type: 'litellm_admin',
      name: 'eu',
      url: 'http://litellm-eu:4000',
      master_key_file: '/run/secrets/litellm',
    },
    { type: 'webhook', url: 'https://hooks.example.com/rules', secret_env: 'HOOK_SECRET' },
    { type: 'webhook', name: 'unsigned', url: 'https://hooks.example.com/2' },
  ])
  assert.deepEqual(
    targets.map((t) => [t.name, t.constructor]),
    [
      ['litellm-admin', LiteLLMAdminTarget],
      ['eu', LiteLLMAdminTarget],
      ['webhook:webhook', WebhookTarget],
      ['webhook:unsigned', WebhookTarget],
    ],
  )
  assert.deepEqual(build([]), [])
})

test('config errors name the target and the variable or file, never a secret', () => {
  const cases: Array<[unknown[], RegExp]> = [
    [
      [{ type: 'litellm_admin', url: 'http://l:4000', master_key_env: 'NOPE' }],
      /^enforcement\.targets\[0\] \(litellm_admin "litellm-admin"\): environment variable NOPE is not set/,
    ],
    [[{ type: 'litellm_admin', url: 'http://l:4000', master_key_env: 'BLANK' }], /BLANK is not set/],
    [
      [{ type: 'litellm_admin', url: 'http://l:4000', master_key_file: '/run/secrets/missing' }],
      /cannot read master_key_file \/run\/secrets\/missing \(ENOENT\)/,
    ],
    [[{ type: 'litellm_admin', url: 'http://l:4000', master_key_file: '/run/secrets/empty' }], /is empty/],
    [
      [
        { type: 'webhook', url: 'https://h.example.com/1' },
        { type: 'webhook', url: 'https://h.example.com/2', secret_env: 'NOPE_HOOK' },
      ],
      /^enforcement\.targets\[1\] \(webhook "webhook"\): environment variable NOPE_HOOK is not set/,
    ],
    [
      [
        { type: 'webhook', name: 'a', url: 'https://h.example.com/1' },
        { type: 'webhook', name: 'a', url: 'https://h.example.com/2' },
      ],
      /two targets are named "webhook:a"/,
    ],
  ]
  for (const [configs, want] of cases) assert.throws(() => build(configs), configError(want))
})

test('the config schema refuses both or neither master key source', () => {
  for (const c of [
    { type: 'litellm_admin', url: 'http://l:4000' },
    { type: 'litellm_admin', url: 'http://l:4000', master_key_env: 'A', master_key_file: '/f' },
  ])
    assert.equal(GatewayTargetConfig.safeParse(c).success, false)
})
