import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { isGatewardenError } from '../../core/errors.js'
import { AlertChannel } from '../../schemas/policy.js'
import { createAlertSenders } from './channel-factory.js'

const log = pino({ level: 'silent' })
const env: Record<string, string> = { PD: 'pd-key', SLACK: 'not a url: xoxb-SECRET', HOOK: 'h', SMTP: 'pw' }
const build = (channels: unknown[]) =>
  createAlertSenders(
    channels.map((c) => AlertChannel.parse(c)),
    { secrets: (k) => env[k], log },
  )
const configError = (want: RegExp, notIn?: string) => (e: unknown) => {
  assert.ok(isGatewardenError(e, 'GW_CONFIG_INVALID'), String(e))
  assert.match(e.message, want)
  if (notIn) assert.ok(!e.message.includes(notIn), e.message)
  return true
}

test('builds one sender per channel, named like channelNames', async () => {
  const senders = build([
    {
      type: 'email',
      smtp_url: 'smtp://u@mail.example.com:587',
      smtp_password_env: 'SMTP',
      from: 'a@b.c',
      to: ['x@y.z'],
    },
    { type: 'slack', name: 'ops', webhook_url: 'https://hooks.slack.com/services/T/B/x' },
    { type: 'webhook', url: 'https://h.example.com/1', secret_env: 'HOOK' },
    { type: 'webhook', url: 'https://h.example.com/2' },
    { type: 'pagerduty', routing_key_env: 'PD' },
  ])
  assert.deepEqual(
    senders.map((s) => [s.channel, s.type]),
    [
      ['email', 'email'],
      ['ops', 'slack'],
      ['webhook-1', 'webhook'],
      ['webhook-2', 'webhook'],
      ['pagerduty', 'pagerduty'],
    ],
  )
  for (const s of senders) await s.shutdown()
})

test('config errors name the channel and the variable, never a secret value', () => {
  const cases: Array<[unknown[], RegExp, string?]> = [
    [
      [{ type: 'pagerduty', routing_key_env: 'NOPE_PD' }],
      /^alerts\.channels\[0\] \(pagerduty "pagerduty"\): environment variable NOPE_PD is not set; it must hold the PagerDuty routing/,
    ],
    [
      [
        { type: 'email', from: 'a@b.c', to: ['x@y.z'], smtp_url: 'smtp://h:25' },
        { type: 'slack', name: 'ops', webhook_url_env: 'NOPE_SLACK' },
      ],
      /^alerts\.channels\[1\] \(slack "ops"\): environment variable NOPE_SLACK is not set/,
    ],
    [
      [{ type: 'webhook', url: 'https://h.example.com/x', secret_env: 'NOPE_HOOK' }],
      /NOPE_HOOK is not set; it must hold the HMAC signing secret/,
    ],
    [
      [
        {
          type: 'email',
          smtp_url: 'smtp://u@h:25',
          smtp_password_env: 'NOPE_SMTP',
          from: 'a@b.c',
          to: ['x@y.z'],
        },
      ],
      /\(email "email"\): environment variable NOPE_SMTP is not set/,
    ],
    [
      [{ type: 'slack', webhook_url_env: 'SLACK' }],
      /\(slack "slack"\): the value of SLACK is not an http\(s\) URL/,
      'xoxb-SECRET',
    ],
    [
      [{ type: 'email', smtp_url: 'smtp://u:inline-pw@h:25', from: 'a@b.c', to: ['x@y.z'] }],
      /smtp_url contains a password; remove it and name an environment variable in smtp_password_env/,
      'inline-pw',
    ],
    [
      [{ type: 'email', smtp_url: 'smtp://h:25', smtp_password_env: 'SMTP', from: 'a@b.c', to: ['x@y.z'] }],
      /smtp_password_env is set but smtp_url names no user/,
    ],
    [
      [
        { type: 'webhook', name: 'x', url: 'https://a.example.com' },
        { type: 'slack', name: 'x', webhook_url: 'https://b.example.com' },
      ],
      /two channels are named "x"/,
    ],
  ]
  for (const [channels, want, secret] of cases)
    assert.throws(() => build(channels), configError(want, secret))
})
