/**
 * Bench part `detection` for `npm run bench`: runs `bench/detection.ts` parts in child processes of their
 * own (each peak RSS its own) and returns their figures: the clean stream's `detection.clean.events_per_s`
 * and `detection.clean.false_alerts`, and live (default detector config: tick 5s, allowed_lateness 5s)
 * `detection.loop.latency_ms.p50/p99` and `detection.zombie.latency_ms.p50/p99` (arrival of the event
 * that completes the pattern -> alert stored, engine side) with the client-side figures beside them.
 * Budget latency is not measured here (budgets are judged on the leader's tick from store sums).
 * `quick`: 140k clean events (2 days) and 20 loops (about a minute).
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { BenchFigures, BenchOptions, BenchPart } from './part.js'

const SCRIPT = fileURLToPath(new URL('./detection.js', import.meta.url))

function runPart(part: string, quick: boolean, log: (line: string) => void): Promise<BenchFigures> {
  return new Promise((resolve, reject) => {
    const args = [SCRIPT, '--part', part, '--json', ...(quick ? ['--quick'] : [])]
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let figures: BenchFigures | undefined
    let rest = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      rest += d
      const lines = rest.split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith('FIGURES ')) figures = JSON.parse(line.slice(8)) as BenchFigures
        else if (line.trim() !== '') log(line)
      }
    })
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`detection part ${part} exited with ${code}`))
      else if (!figures) reject(new Error(`detection part ${part} printed no figures`))
      else resolve(figures)
    })
  })
}

export const detectionPart: BenchPart = {
  name: 'detection',
  async run(opts: BenchOptions): Promise<BenchFigures> {
    const clean = await runPart('clean', opts.quick, (l) => opts.log(l))
    const live = await runPart('live-default', opts.quick, (l) => opts.log(l))
    return {
      ...clean,
      ...live,
      'detection.budget.latency_ms.note': 'not measured (leader tick from store sums)',
    }
  },
}
