import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import { litellmPayload } from '../support/events.js'
import { rows, silentLog } from '../support/store.js'
import { waitFor } from '../support/wait.js'

const running: Running[] = []
after(async () => {
  for (const r of running) await r.stop().catch(() => undefined)
})

test('two instances on one store: one budget leader, each budget alert opened once; the other takes over when the leader stops', async () => {
  const config = Config.parse({
    server: { port: 0 },
    store: { data_dir: mkdtempSync(join(tmpdir(), 'gw-two-')), database: 'shared' },
    writer: { max_batch_wait_ms: 5 },
    budgets: [{ name: 'acme-daily', scope: { customer: 'acme' }, limit_usd: 1, period: 'day' }],
    detectors: { tick: '200ms', allowed_lateness: '0s' },
  })
  const a = await start(config, silentLog)
  running.push(a)
  const b = await start(config, silentLog)
  running.push(b)
  // both have beaten and elected with the other's heartbeat in the store: the election is settled
  await a.engine.tick()
  await b.engine.tick()
  await a.engine.tick()
  const leaders = [a, b].filter((r) => r.engine.isBudgetLeader)
  assert.equal(leaders.length, 1, 'exactly one budget leader')
  const leader = leaders[0]!
  const follower = leader === a ? b : a
  assert.equal(leader.engine.instance < follower.engine.instance, true, 'the smallest instance id leads')

  // spend goes in through the follower: the leader still judges it from the store's global sums
  const now = Date.now()
  const res = await follower.app.inject({
    method: 'POST',
    url: '/ingest/litellm',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(
      Array.from({ length: 3 }, (_, i) =>
        litellmPayload({ id: `two-${i}`, customer: 'acme', cost: 0.5, ts: now - 1000 + i }),
      ),
    ),
  })
  assert.equal(res.statusCode, 200)
  const exhausted = () =>
    rows<{ id: string; instance: string }>(
      follower.store,
      "SELECT DISTINCT id, instance FROM {{db}}.alerts WHERE type = 'budget_exhaustion' AND state = 'firing' AND details LIKE '%\"threshold\":1%'",
    )
  await waitFor('a budget exhaustion alert', async () => (await exhausted()).length > 0, 20_000)
  // one more evaluation round on each: a second alert, if either would open one, is stored by now
  await leader.engine.tick()
  await follower.engine.tick()
  const first = await exhausted()
  assert.equal(first.length, 1, `one exhaustion alert, got ${JSON.stringify(first)}`)
  assert.equal(first[0]!.instance, leader.engine.instance)

  // the leader stops: the follower takes over once its lease (MIN_LEADER_LEASE_MS) runs out, and adopts the
  // open alert (no second one)
  await leader.stop()
  running.splice(running.indexOf(leader), 1)
  await waitFor('the follower to take over budget leadership', () => follower.engine.isBudgetLeader, 60_000)
  // a full round as leader (budgets evaluated from the store): it adopts the open alert, opens none
  await follower.engine.tick()
  assert.equal(follower.engine.isBudgetLeader, true)
  const after2 = await exhausted()
  assert.deepEqual(
    after2.map((r) => r.id),
    [first[0]!.id],
  )
})
