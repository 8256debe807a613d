import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { litellmPayload, round10 } from '../support/events.js'
import {
  killHard,
  spawnGatewarden,
  stopGracefully,
  waitForFailpointCrash,
} from '../support/gatewarden-process.js'
import { REPO_ROOT } from '../support/paths.js'

type CostAnswer = { rows: Array<{ customer: string; cost_usd: number; requests: number }> }

const post = (url: string, batch: unknown[]) =>
  fetch(`${url}/ingest/litellm`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(batch),
  })

test('kill -9 after the store and before or after the answer: acked events survive, unacked ones are stored once when resent', async () => {
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

  // batch 0: rows committed by the writer, killed before the HTTP layer hears of it (writer.after_insert);
  // batch 1: stored and killed just before the answer (http.before_ack). Neither sender got an answer.
  const unacked: Array<[batch: number, failpoint: string]> = [
    [0, 'writer.after_insert'],
    [1, 'http.before_ack'],
  ]
  for (const [b, failpoint] of unacked) {
    const gw = await spawnGatewarden({ ...env, GATEWARDEN_FAILPOINTS: `${failpoint}=crash` })
    const sent = post(gw.url, batches[b]!).then(
      (res) => `answered ${res.status}`,
      () => 'no answer',
    )
    const crash = await waitForFailpointCrash(gw)
    assert.equal(crash.failpoint, failpoint)
    assert.equal(
      await sent,
      'no answer',
      `batch ${b}: the sender is not acked by a process killed at ${failpoint}`,
    )
  }

  // batch 2: the 200 arrives, then SIGKILL at once
  {
    const gw = await spawnGatewarden(env)
    const res = await post(gw.url, batches[2]!)
    await killHard(gw)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { accepted: 200, rejected: 0, duplicates: 0 })
  }

  const gw = await spawnGatewarden(env)
  try {
    // the senders of batches 0 and 1 retry: their rows were stored before the crash, so nothing doubles
    for (const [b] of unacked) {
      const again = await post(gw.url, batches[b]!)
      assert.deepEqual(await again.json(), { accepted: 0, rejected: 0, duplicates: 200 }, `batch ${b}`)
    }
    // a sender retrying an acked batch after the crash must not double anything either
    const again = await post(gw.url, batches[2]!)
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

test('an unknown failpoint or a bad action is a start-up error naming the entry (exit 2)', async () => {
  for (const [spec, want] of [
    ['writer.after_insrt=crash', /GATEWARDEN_FAILPOINTS: unknown failpoint "writer.after_insrt"/],
    ['store.insert=explode', /GATEWARDEN_FAILPOINTS: failpoint "store.insert": unknown action "explode"/],
  ] as const) {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/services/cli.js'), 'start'], {
      env: {
        ...process.env,
        PORT: '0',
        GATEWARDEN_DATA_DIR: mkdtempSync(join(tmpdir(), 'gw-fp-')),
        GATEWARDEN_FAILPOINTS: spec,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    assert.equal(code, 2, stderr)
    assert.match(stderr, want)
  }
})
