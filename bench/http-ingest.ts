/**
 * HTTP ingest benchmark: LiteLLM-style POSTs (512 events of ~4 KB each, as LiteLLM's generic_api batches)
 * to a real `gatewarden start` child process on the embedded store, until every event is queryable.
 *
 * Prints: events/s end to end (acked and counted by /api/cost), the same rows' ceiling (the embedded
 * engine inserting pre-mapped rows in-process, no HTTP, no parsing), their ratio, ack latency p50/p99
 * per POST, and the server's peak RSS. Usage: npm run bench [-- --events 50000 --concurrency 4]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { benchPayloads, storeCeiling } from './workload.js'
import { killHard, spawnGatewarden } from '../test/support/gatewarden-process.js'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '512' },
    concurrency: { type: 'string', default: '4' },
  },
})
const EVENTS = Number(values.events)
const BATCH = Number(values.batch)
const CONCURRENCY = Number(values.concurrency)

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}

async function main(): Promise<void> {
  const payloads = benchPayloads(EVENTS, `b${Date.now()}`, Date.now() - 3_600_000)
  const bodies: string[] = []
  for (let i = 0; i < payloads.length; i += BATCH) bodies.push(JSON.stringify(payloads.slice(i, i + BATCH)))
  const avgEventBytes = Math.round(bodies.reduce((a, b) => a + b.length, 0) / EVENTS)

  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-http-'))
  const gw = await spawnGatewarden({ GATEWARDEN_DATA_DIR: dir })
  const latencies: number[] = []
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!
        const t = performance.now()
        const res = await fetch(`${gw.url}/ingest/litellm`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
        if (res.status !== 200) throw new Error(`POST answered ${res.status}: ${await res.text()}`)
        await res.arrayBuffer()
        latencies.push(performance.now() - t)
      }
    }),
  )
  const acked = performance.now() - t0
  const cost = (await (
    await fetch(`${gw.url}/api/cost?group_by=customer&from=2000-01-01&to=2100-01-01`)
  ).json()) as { rows: Array<{ requests: number }> }
  const counted = cost.rows.reduce((a, r) => a + r.requests, 0)
  const queryable = performance.now() - t0
  const status = readFileSync(`/proc/${gw.child.pid}/status`, 'utf8')
  const peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN)
  await killHard(gw)
  rmSync(dir, { recursive: true, force: true })
  if (counted !== EVENTS) throw new Error(`counted ${counted} of ${EVENTS} events`)

  const rate = EVENTS / (queryable / 1000)
  const ceil = await storeCeiling(
    benchPayloads(EVENTS, `c${Date.now()}`, Date.now() - 3_600_000),
    'litellm_http',
  )
  const lines = [
    `http ingest: ${EVENTS} events (~${avgEventBytes} B each), ${bodies.length} POSTs of ${BATCH}, concurrency ${CONCURRENCY}`,
    `  end to end (acked + counted by /api/cost): ${Math.round(rate)} events/s (${(queryable / 1000).toFixed(2)} s; all acked at ${(acked / 1000).toFixed(2)} s)`,
    `  ceiling (embedded store insert of pre-mapped rows, same machine, same run): ${Math.round(ceil)} events/s`,
    `  ratio to ceiling: ${(rate / ceil).toFixed(2)}`,
    `  ack latency per POST: p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms`,
    `  server peak RSS: ${(peakKb / 1024).toFixed(0)} MiB`,
    `  detection latency: measured by bench/detection.ts (npm run bench runs all three)`,
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

await main()
