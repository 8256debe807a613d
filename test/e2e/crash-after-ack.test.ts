import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { litellmPayload, round10 } from '../support/events.js'
import { killHard, spawnGatewarden, stopGracefully } from '../support/gatewarden-process.js'

type CostAnswer = { rows: Array<{ customer: string; cost_usd: number; requests: number }> }

test('events acked by /ingest/litellm survive kill -9 right after the answer, counted exactly once', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-crash-'))
  const env = { GATEWARDEN_DATA_DIR: dataDir }
  const ts = Date.now() - 60_000
  const batches = [0, 1, 2].map((b) =>
    Array.from({ length: 200 }, (_, i) =>
      litellmPayload({
        id: `crash-${b}-${i}`,
        customer: `cust-${i % 7}`,
        cost: 0.0001 * ((i % 13) + 1),
        ts: ts + i,
      }),
    ),
  )
  const expected = new Map<string, { cost: number; n: number }>()
  for (const p of batches.flat()) {
    const e = expected.get(p.end_user as string) ?? { cost: 0, n: 0 }
    expected.set(p.end_user as string, { cost: round10(e.cost + (p.response_cost as number)), n: e.n + 1 })
  }

  // Each batch: POST, and the moment the 200 arrives, SIGKILL. Then restart on the same data dir.
  for (const batch of batches) {
    const gw = await spawnGatewarden(env)
    const res = await fetch(`${gw.url}/ingest/litellm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    })
    await killHard(gw)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { accepted: 200, rejected: 0, duplicates: 0 })
  }

  const gw = await spawnGatewarden(env)
  try {
    // a sender retrying the same batch after the crash must not double anything
    const again = await fetch(`${gw.url}/ingest/litellm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batches[0]),
    })
    assert.deepEqual(await again.json(), { accepted: 0, rejected: 0, duplicates: 200 })

    const from = new Date(ts - 3_600_000).toISOString()
    const to = new Date(ts + 3_600_000).toISOString()
    const cost = (await (
      await fetch(`${gw.url}/api/cost?group_by=customer&from=${from}&to=${to}`)
    ).json()) as CostAnswer
    assert.equal(cost.rows.length, expected.size)
    for (const r of cost.rows) {
      assert.equal(r.requests, expected.get(r.customer)?.n, `requests of ${r.customer}`)
      assert.equal(round10(r.cost_usd), expected.get(r.customer)?.cost, `cost of ${r.customer}`)
    }
  } finally {
    assert.equal(await stopGracefully(gw), 0, 'graceful stop exits 0')
  }
})
