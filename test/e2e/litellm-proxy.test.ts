import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { round10 } from '../support/events.js'
import { spawnGatewarden, stopGracefully } from '../support/gatewarden-process.js'
import { ProxyCalls, startLiteLLM } from '../support/litellm-proxy.js'

type Row = {
  customer: string
  cost_usd: number
  requests: number
  failures: number
  agent?: string
  endpoint?: string
}

/**
 * The real LiteLLM proxy (PyPI, config-only, mock_response models) sends its generic_api logs to a
 * real `gatewarden start` with a bearer token; per-customer cost equals what LiteLLM reported per call
 * in its `x-litellm-response-cost` header.
 */
for (const callback of ['gatewarden', 'otel'] as const) {
  test(
    `real LiteLLM ${callback === 'gatewarden' ? 'generic_api logs' : 'otel spans (OTLP protobuf)'} arrive and cost per customer matches what LiteLLM charged`,
    { timeout: 600_000 },
    async () => {
      const token = 'e2e-ingest-token-0123456789'
      const gw = await spawnGatewarden({
        GATEWARDEN_DATA_DIR: mkdtempSync(join(tmpdir(), 'gw-e2e-litellm-')),
        GATEWARDEN_AUTH_TOKEN: token,
      })
      const proxy = startLiteLLM(gw.url, { GATEWARDEN_INGEST_TOKEN: token, LITELLM_CALLBACKS: callback })
      try {
        const calls = new ProxyCalls(proxy)
        const expected = calls.expected
        await calls.standardMix()
        const total = calls.total()

        // LiteLLM flushes its generic_api queue every second (start.sh): poll until every call has arrived
        const auth = { authorization: `Bearer ${token}` }
        const from = new Date(Date.now() - 3_600_000).toISOString()
        const to = new Date(Date.now() + 3_600_000).toISOString()
        let rows: Row[] = []
        for (let i = 0; i < 60; i++) {
          const res = await fetch(`${gw.url}/api/cost?group_by=customer&from=${from}&to=${to}`, {
            headers: auth,
          })
          rows = ((await res.json()) as { rows: Row[] }).rows
          if (rows.reduce((a, r) => a + r.requests, 0) >= total) break
          await new Promise((r) => setTimeout(r, 500))
        }
        assert.equal(
          rows.reduce((a, r) => a + r.requests, 0),
          total,
          `all ${total} calls logged; proxy log: ${proxy.workdir}/litellm.log`,
        )
        for (const r of rows) {
          const e = expected.get(r.customer)
          assert.ok(e, `unexpected customer '${r.customer}'`)
          assert.equal(r.requests, e.n, `requests of ${r.customer}`)
          assert.equal(r.failures, e.failures, `failures of ${r.customer}`)
          assert.equal(round10(r.cost_usd), e.cost, `cost of ${r.customer}`)
        }
        assert.ok(expected.get('acme')!.cost > 0, 'LiteLLM priced the mock calls')

        const byAgent = await fetch(
          `${gw.url}/api/cost?group_by=agent,endpoint&customer=initech&from=${from}&to=${to}`,
          { headers: auth },
        )
        assert.deepEqual(
          ((await byAgent.json()) as { rows: Row[] }).rows.map((r) => [r.agent, r.endpoint]),
          [['nightly-summarizer', '/v1/chat/completions']],
        )
        const dead = await fetch(`${gw.url}/api/dead-letters`, { headers: auth })
        assert.deepEqual(
          ((await dead.json()) as { dead_letters: unknown[] }).dead_letters,
          [],
          'nothing dead-lettered',
        )
        // LiteLLM's master key must never reach Gatewarden's logs
        assert.ok(!gw.lines.join('\n').includes(proxy.masterKey))
      } finally {
        proxy.stop()
        await stopGracefully(gw)
      }
    },
  )
}
