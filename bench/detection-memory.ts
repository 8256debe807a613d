/**
 * Bench part `memory.loop_1m`: peak RSS with the embedded engine inside and 1M distinct active
 * fingerprints in the loop detector (issue 10), the JS heap and the rest apart, and the loop state's
 * bytes per fingerprint and per entry (after a GC, heap used with the state alive minus before it).
 * Runs in a child process of its own (`detection-memory-child.ts`, `--expose-gc`) so its peak RSS is
 * its own. The quick run uses the same million (about 15 s): the target is stated at 1M.
 * Alone: `node dist/bench/detection-memory.js [--fingerprints 1000000]` (after a build).
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { BenchFigures, BenchOptions, BenchPart } from './part.js'

const CHILD = fileURLToPath(new URL('./detection-memory-child.js', import.meta.url))

function runChild(fingerprints: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', CHILD, '--fingerprints', String(fingerprints)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.once('error', reject)
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? ''
      if (code !== 0) return reject(new Error(`detection-memory child exited with ${code}`))
      try {
        resolve(JSON.parse(line) as Record<string, number>)
      } catch (err) {
        reject(new Error(`detection-memory child printed no figures: ${line}`, { cause: err }))
      }
    })
  })
}

export const detectionMemoryPart: BenchPart = {
  name: 'memory',
  async run(opts: BenchOptions): Promise<BenchFigures> {
    const n = 1_000_000
    opts.log(`loop detector: ${n.toLocaleString('en-US')} distinct active fingerprints, embedded store open`)
    const f = await runChild(n)
    const out: BenchFigures = {}
    for (const [k, v] of Object.entries(f)) out[`memory.loop_1m.${k}`] = v
    opts.log(
      `peak RSS ${f.rss_mib} MiB (heap used ${f.heap_used_mib}, external ${f.external_mib}, other ${f.other_rss_mib}); ` +
        `loop state ${f.loop_state_heap_mib} MiB for ${f.entries} entries: ${f.bytes_per_fingerprint} B/fingerprint, ${f.bytes_per_entry} B/entry`,
    )
    return out
  },
}

// alone: node dist/bench/detection-memory.js [--fingerprints N]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--fingerprints')
  const n = i > 0 ? Number(process.argv[i + 1]) : 1_000_000
  const f = await runChild(n)
  process.stdout.write(`${JSON.stringify(f, null, 2)}\n`)
}
