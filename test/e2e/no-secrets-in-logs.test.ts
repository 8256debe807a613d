import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAlertListener } from '../support/alert-listener.js'
import { litellmPayload } from '../support/events.js'
import { spawnGatewarden, stopGracefully, type GatewardenProcess } from '../support/gatewarden-process.js'
import { startAdminContract } from '../support/litellm-admin-contract.js'
import { REPO_ROOT } from '../support/paths.js'
import { startSmtpSink } from '../support/smtp-sink.js'
import { until } from '../support/until.js'

// Issue #9, security: a full Gatewarden (the built CLI, a child process) at log level debug with every
// secret-bearing feature on is driven through ingest, alert delivery and a rule push; then EVERY line it
// wrote (stdout and stderr) is searched for each secret. None may appear.

/** A distinctive random string no log line could contain by chance. */
const secret = (tag: string) => `${tag}${randomBytes(12).toString('hex')}`

const SECRETS = {
  authToken: secret('gwtok'),
  wrongToken: secret('wrongtok'),
  smtpPassword: secret('smtppw'),
  alertWebhookSecret: secret('alerthmac'),
  targetWebhookSecret: secret('targethmac'),
  masterKey: `sk-${secret('master')}`,
  gatewayKey: `sk-${secret('gwkey')}`,
  headerKey: `sk-${secret('hdrkey')}`,
  prompt: secret('prompt'),
}

const CUSTOMER = secret('cust')
const KEY_HASH = 'b7'.repeat(32)

type ApiAlert = { type: string; state: string; scope: { kind: string; id: string } }

test(
  'at log level debug, no secret (token, wrong token, SMTP password, webhook secrets, master key, gateway keys, prompts) reaches any log line',
  { timeout: 180_000 },
  async () => {
    const smtp = await startSmtpSink({ auth: { user: 'gw-mailer', pass: SECRETS.smtpPassword } })
    // a server that refuses the login quoting the credentials back (535, a final refusal, logged as an error)
    const quoting = await startSmtpSink({
      authReply: (user, pass) => ({ code: 535, message: `bad credentials ${user ?? ''}:${pass ?? ''}` }),
    })
    const hooks = await startAlertListener()
    const lite = await startAdminContract(SECRETS.masterKey)
    lite.keys.set(KEY_HASH, { key_alias: null, aliases: {}, metadata: {}, blocked: null, team_id: null })
    // the first block attempts fail: the push retries (its errors logged at debug) before it lands
    lite.failNext('POST /key/block', 2, 503)
    let gw: GatewardenProcess | undefined
    try {
      const dir = mkdtempSync(join(tmpdir(), 'gw-nosecrets-'))
      const configFile = join(dir, 'gatewarden.yaml')
      // JSON is YAML
      writeFileSync(
        configFile,
        JSON.stringify({
          server: { port: 0 },
          store: { data_dir: join(dir, 'data') },
          writer: { max_batch_wait_ms: 5 },
          privacy: { store_prompts: false },
          budgets: [
            {
              name: 'key-cap',
              scope: { key: KEY_HASH },
              limit_usd: 0.5,
              period: 'month',
              on_exhausted: { action: 'block' },
            },
          ],
          detectors: { tick: '200ms', allowed_lateness: '0s' },
          alerts: {
            channels: [
              {
                type: 'email',
                smtp_url: `smtp://gw-mailer@127.0.0.1:${smtp.port}`,
                smtp_password_env: 'GW_TEST_SMTP_PASSWORD',
                from: 'gatewarden@example.test',
                to: ['oncall@example.test'],
              },
              {
                type: 'email',
                name: 'mail-quoting',
                smtp_url: `smtp://gw-mailer@127.0.0.1:${quoting.port}`,
                smtp_password_env: 'GW_TEST_SMTP_PASSWORD',
                from: 'gatewarden@example.test',
                to: ['oncall@example.test'],
              },
              { type: 'webhook', url: `${hooks.url}/alert`, secret_env: 'GW_TEST_ALERT_SECRET' },
            ],
            group_window: '200ms',
          },
          enforcement: {
            mode: 'enforce',
            tick: '500ms',
            targets: [
              { type: 'litellm_admin', url: lite.url, master_key_env: 'GW_TEST_LITELLM_MASTER' },
              { type: 'webhook', url: `${hooks.url}/target`, secret_env: 'GW_TEST_TARGET_SECRET' },
            ],
          },
        }),
      )
      gw = await spawnGatewarden({
        GATEWARDEN_CONFIG: configFile,
        LOG_LEVEL: 'debug',
        GATEWARDEN_AUTH_TOKEN: SECRETS.authToken,
        GW_TEST_SMTP_PASSWORD: SECRETS.smtpPassword,
        GW_TEST_ALERT_SECRET: SECRETS.alertWebhookSecret,
        GW_TEST_TARGET_SECRET: SECRETS.targetWebhookSecret,
        GW_TEST_LITELLM_MASTER: SECRETS.masterKey,
      })
      const url = gw.url
      const send = (path: string, body: string, token: string, type = 'application/json') =>
        fetch(`${url}${path}`, {
          method: 'POST',
          headers: { 'content-type': type, authorization: `Bearer ${token}` },
          body,
        })
      const get = (path: string, token: string) =>
        fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })

      // the wrong token, on ingest and on the API: refused, and never logged
      for (const res of [
        await send('/ingest/litellm', '[]', SECRETS.wrongToken),
        await send('/v1/traces', '{}', SECRETS.wrongToken),
        await get('/api/alerts', SECRETS.wrongToken),
        await fetch(`${url}/api/cost?group_by=customer`, { headers: { 'x-api-key': SECRETS.wrongToken } }),
      ])
        assert.equal(res.status, 401)

      // LiteLLM payloads carrying the raw gateway key and an Authorization header value, and the prompt;
      // they spend 1.2 x the key's budget
      const t0 = Date.now()
      const payloads = Array.from({ length: 4 }, (_, i) => {
        const p = litellmPayload({ id: `ns-${i}`, customer: CUSTOMER, cost: 0.15, ts: t0 + i, key: KEY_HASH })
        const md = p.metadata as Record<string, unknown>
        md.user_api_key = SECRETS.gatewayKey
        md.requester_custom_headers = { authorization: `Bearer ${SECRETS.headerKey}` }
        md.headers = { authorization: `Bearer ${SECRETS.headerKey}`, 'x-api-key': SECRETS.gatewayKey }
        p.messages = [{ role: 'user', content: `${SECRETS.prompt} please` }]
        return p
      })
      // invalid items (dead letters) carrying the same secrets
      const invalid = [
        {
          id: 'ns-bad-1',
          response_cost: 'not a number',
          metadata: {
            user_api_key: SECRETS.gatewayKey,
            headers: { authorization: `Bearer ${SECRETS.headerKey}` },
          },
          messages: [{ role: 'user', content: SECRETS.prompt }],
        },
        `${SECRETS.prompt} ${SECRETS.gatewayKey}`,
      ]
      const ingested = await send(
        '/ingest/litellm',
        JSON.stringify([...payloads, ...invalid]),
        SECRETS.authToken,
      )
      assert.equal(ingested.status, 200, await ingested.clone().text())
      const receipt = (await ingested.json()) as { accepted: number; rejected: number }
      assert.equal(receipt.accepted, 4)
      assert.equal(receipt.rejected, 2)
      // more calls of the customer, one batch each (one `batch stored` line each), under the budget's key
      for (let i = 0; i < 30; i++) {
        const p = litellmPayload({
          id: `ns-more-${i}`,
          customer: CUSTOMER,
          cost: 0.0001,
          ts: t0 + 10 + i,
          key: KEY_HASH,
        })
        const md = p.metadata as Record<string, unknown>
        md.user_api_key = SECRETS.gatewayKey
        md.requester_custom_headers = { Authorization: `Bearer ${SECRETS.headerKey}` }
        p.messages = [{ role: 'user', content: SECRETS.prompt }]
        const res = await send('/ingest/litellm', JSON.stringify([p]), SECRETS.authToken)
        assert.equal(res.status, 200)
        await res.body?.cancel()
      }
      // an unparsable body, too
      const broken = await send('/ingest/litellm', `[{"id": "${SECRETS.prompt}", `, SECRETS.authToken)
      assert.equal(broken.status, 400)

      // an OTLP/JSON trace whose input messages carry the prompt
      const otlp = readFileSync(join(REPO_ROOT, 'test/fixtures/otlp/litellm-otel-success-user.json'), 'utf8')
      assert.ok(otlp.includes('Say hello to acme.'))
      const traced = await send(
        '/v1/traces',
        otlp.replaceAll('Say hello to acme.', SECRETS.prompt),
        SECRETS.authToken,
      )
      assert.equal(traced.status, 200, await traced.clone().text())

      // the budget alert fires, is mailed (after SMTP AUTH with the password) and posted to the webhook
      await until('the key budget alert', async () => {
        const res = await get('/api/alerts?type=budget_exhaustion', SECRETS.authToken)
        const { alerts } = (await res.json()) as { alerts: ApiAlert[] }
        return alerts.find((a) => a.state === 'firing' && a.scope.id === KEY_HASH)
      })
      const mail = await until('the alert mail', async () =>
        smtp.received.find((m) => /budget/i.test(m.mail.subject ?? '')),
      )
      assert.equal(mail.user, 'gw-mailer', 'the mail went through SMTP AUTH')
      await until('the signed alert webhook', async () =>
        hooks.requests.find((r) => r.url === '/alert' && r.headers['x-gatewarden-signature']),
      )
      // the block rule is pushed to LiteLLM's admin API (with the master key) and to the webhook target
      await until('the key block at LiteLLM', async () =>
        lite.keys.get(KEY_HASH)?.blocked === true ? true : undefined,
      )
      assert.ok(lite.calls.some((c) => c.route === '/key/block' && c.status === 200))
      assert.deepEqual(lite.violations, [])
      await until('the signed rule push to the webhook target', async () =>
        hooks.requests.find((r) => r.url === '/target' && r.headers['x-gatewarden-signature']),
      )
      await until('the refused login at the quoting server, logged', async () =>
        gw!.lines.some((l) => l.includes('"msg":"notification refused by the channel"')) ? true : undefined,
      )
      // the stores' answers are out: the lines of the pushes and deliveries are written
      await until('the log lines of delivery and push', async () =>
        gw!.lines.some((l) => l.includes('"msg":"alert delivered"')) &&
        gw!.lines.some((l) => l.includes('"msg":"gateway scope blocked"')) &&
        gw!.lines.some((l) => l.includes('"msg":"rule pushed to webhook"'))
          ? true
          : undefined,
      )
    } finally {
      if (gw) assert.equal(await stopGracefully(gw), 0, 'graceful stop exits 0')
      await smtp.close()
      await quoting.close()
      await hooks.close()
      await lite.close()
    }

    // every line written, stdout and stderr
    const all = [...gw.lines, ...gw.stderr().split('\n')]
    const leaks = Object.entries(SECRETS).flatMap(([name, value]) =>
      all.filter((l) => l.includes(value)).map((l) => `${name}: ${l}`),
    )
    assert.deepEqual(leaks, [], 'secrets in the log')
    // the random part alone (a secret logged re-encoded or cut would still carry it)
    for (const [name, value] of Object.entries(SECRETS)) {
      const core = value.slice(-24)
      assert.ok(!all.some((l) => l.includes(core)), `${name} (its random part) in the log`)
    }

    // not vacuous: a debug log with lines of ingest, alert delivery and the pushes, and non-secret ids
    assert.ok(gw.lines.length > 50, `only ${gw.lines.length} log lines`)
    const msgs = new Set(
      gw.lines.flatMap((l) => {
        try {
          return [(JSON.parse(l) as { msg?: string }).msg ?? '']
        } catch {
          return []
        }
      }),
    )
    for (const m of [
      'batch stored',
      'alert delivered',
      'notification refused by the channel',
      'gateway push retrying',
      'gateway scope blocked',
      'rule pushed to webhook',
    ])
      assert.ok(msgs.has(m), `a "${m}" line: ${[...msgs].join(' | ')}`)
    assert.ok(
      all.some((l) => l.includes(KEY_HASH)),
      'the key hash (not a secret) is logged',
    )
  },
)
