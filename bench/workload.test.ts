import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import { AttributionConfig, PrivacyConfig } from '../schemas/config.js'
import { ParsePool } from '../services/ingest/parse-pool.js'
import { cpuLine, cpuPerEvent, parseWorkerTids, promSum, sendOpenLoop, threadCpu } from './workload.js'

test('cpuPerEvent: each thread counts once, by kind (main, parse workers, engine, node runtime), per event', () => {
  const pid = 100
  const before = new Map([
    [100, { ms: 1_000 }],
    [101, { ms: 500 }],
    [102, { ms: 0 }],
  ])
  const after = new Map([
    [100, { comm: 'node', ms: 3_000 }], // main: +2,000
    [101, { comm: 'node', ms: 1_500 }], // parse worker: +1,000
    [102, { comm: 'node', ms: 400 }], // a V8 or libuv thread: +400
    [103, { comm: 'MergeMutate', ms: 300 }], // an engine thread started between the samples: +300
    [104, { comm: 'ThreadPool', ms: 300 }], // +300
  ])
  const f = cpuPerEvent('x', before, after, pid, new Set([101]), 1_000, 2_000)
  assert.deepEqual(f, {
    'x.cpu_us_per_event.total': 4_000,
    'x.cpu_us_per_event.main': 2_000,
    'x.cpu_us_per_event.parse_workers': 1_000,
    'x.cpu_us_per_event.engine': 600,
    'x.cpu_us_per_event.engine_merges': 300,
    'x.cpu_us_per_event.node_runtime': 400,
    'x.cpu_cores_used': 2,
  })
  assert.match(
    cpuLine('x', f),
    /^CPU per event 4000 us \(main 2000, parse workers 1000, engine threads 600 \(merges 300\), node runtime 400\); 2 cores/,
  )
  assert.deepEqual(cpuPerEvent('x', before, new Map(), pid, new Set(), 1, 1), {})
  assert.equal(cpuLine('x', {}), 'CPU per event: not measured (no /proc)')
})

test('parseWorkerTids: the tids of the parse worker log lines, nothing from other lines', () => {
  const lines = [
    '{"level":30,"msg":"gatewarden listening","port":1}',
    '{"level":30,"tid":4242,"msg":"parse worker started"}',
    '{"level":30,"tid":null,"msg":"parse worker started"}',
    '{"level":30,"tid":4243,"msg":"parse worker started"}',
  ]
  assert.deepEqual([...parseWorkerTids(lines)], [4242, 4243])
})

test(
  'a parse worker says its OS thread id, and threadCpu finds that thread and the main one in /proc',
  { skip: !existsSync('/proc/thread-self/stat') && 'no /proc/thread-self (not Linux)' },
  async () => {
    const lines: string[] = []
    let sawStart: () => void = () => {}
    const started = new Promise<void>((resolve) => (sawStart = resolve))
    const log = pino(
      { level: 'info' },
      {
        write(line: string) {
          lines.push(line)
          if (line.includes('parse worker started')) sawStart()
        },
      },
    )
    const litellm = {
      source: 'litellm_http' as const,
      gateway: 'litellm',
      attribution: AttributionConfig.parse({}),
      privacy: PrivacyConfig.parse({}),
    }
    const pool = new ParsePool(1, { litellm }, log)
    // the pool's workers do not keep a process alive (worker.unref): this test's wait must
    const alive = setInterval(() => {}, 60_000)
    await pool.start()
    try {
      await started
      const tids = parseWorkerTids(lines)
      assert.equal(tids.size, 1)
      const [tid] = [...tids]
      assert.notEqual(tid, process.pid)
      const threads = threadCpu(process.pid)
      assert.ok(threads.has(process.pid), 'the main thread is listed under the pid')
      assert.ok(threads.has(tid!), `the worker's thread ${tid} is one of the process's threads`)
      for (const t of threads.values()) assert.ok(Number.isFinite(t.ms) && t.ms >= 0)
    } finally {
      clearInterval(alive)
      await pool.shutdown()
    }
  },
)

test('promSum adds a sample over its label sets and ignores longer names and comments', () => {
  const text = [
    '# HELP gatewarden_batch_rows Rows per stored batch',
    'gatewarden_batch_rows_count{source="litellm_http"} 3',
    'gatewarden_batch_rows_count{source="kafka"} 4',
    'gatewarden_batch_rows_count_extra 100',
    'gatewarden_batch_rows_sum 70',
  ].join('\n')
  assert.equal(promSum(text, 'gatewarden_batch_rows_count'), 7)
  assert.equal(promSum(text, 'gatewarden_batch_rows_sum'), 70)
  assert.ok(Number.isNaN(promSum(text, 'gatewarden_store_write_seconds_sum')))
})

test(
  'sendOpenLoop sends every POST on its schedule without waiting for the answers before it',
  { timeout: 20_000 },
  async (t) => {
    // the server answers nothing until it holds all the POSTs: a sender waiting for an answer before its next
    // POST (a closed loop) never completes; an open loop does
    const n = 6
    const held: Array<() => void> = []
    const bodies: string[] = []
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        bodies.push(body)
        held.push(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
        if (held.length === n) for (const answer of held) answer()
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    // also when the test times out (its body still waiting): the held connections would keep the process up
    t.after(() => {
      server.closeAllConnections()
      server.close()
    })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const sent = Array.from({ length: n }, (_, i) => `[${i}]`)
    // 10 events a POST at 1,000 events/s: a POST every 10 ms
    const { latencies, sentSpanMs } = await sendOpenLoop(url, sent, 10, 1_000)
    assert.equal(latencies.length, n)
    assert.deepEqual([...bodies].sort(), [...sent].sort())
    // the last POST went out no earlier than its time, (n - 1) x 10 ms after the first
    assert.ok(sentSpanMs >= (n - 1) * 10, `last POST sent ${sentSpanMs} ms after the first`)
  },
)
