/**
 * A thin adapter that makes a part of bench/spend-anomaly.ts, a detector benchmark with a CLI of its own:
 * it runs the built script as a child process with its own options, echoes its output, and reads the
 * figures from the lines it prints. The script stays as it is; a line the adapter needs and cannot find
 * fails the part, with the output, rather than dropping the figure silently. (bench/detection.ts has its
 * own part, bench/detection-part.ts.)
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { REPO_ROOT } from '../test/support/paths.js'
import type { BenchFigures, BenchOptions, BenchPart } from './part.js'

/** Runs `node dist/bench/<script> <args>` to its end, each stdout line through `log`; its stdout. */
function runScript(
  script: string,
  args: string[],
  log: (line: string) => void,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/bench', script), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let partial = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const lines = (partial + d.toString()).split('\n')
      partial = lines.pop()!
      for (const l of lines) log(l)
    })
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (partial) log(partial)
      if (code === 0) resolve(out)
      else
        reject(
          new Error(
            `${script} ${args.join(' ')} exited with ${code ?? signal}\n${err.slice(-3000)}${out.slice(-2000)}`,
          ),
        )
    })
  })
}

/** A number as printed (`1,234,567`, `0.25`, `NaN`). */
const num = (s: string) => Number(s.replace(/,/g, ''))

/** The first match of `re` in `text`, or a part failure naming what is missing. */
function need(text: string, re: RegExp, what: string): RegExpExecArray {
  const m = re.exec(text)
  if (!m) throw new Error(`the output has no ${what} (${re}); did its format change?\n${text.slice(-3000)}`)
  return m
}

/** Figures of bench/spend-anomaly.ts's `clean` and `planted` outputs. */
export function spendAnomalyFigures(clean: string, planted: string): BenchFigures {
  const c = need(clean, /clean: ([\d,]+) clean events over (\d+) days[^\n]*, ([\d.]+) s\n/, 'clean run line')
  const f = need(clean, /spend_anomaly findings: (\d+)[^;]*; all findings: (\d+)/, 'findings counts')
  const p = need(planted, /planted: (\d+) spikes in [\d,]+ clean events \(([\d.]+) s/, 'planted run line')
  const caught = need(
    planted,
    /caught (\d+)\/(\d+); delay after crossing: max (-?[\d.]+|-?Infinity)s, min (-?[\d.]+|-?Infinity)s; other anomaly firings: (\d+)/,
    'caught line',
  )
  const events = num(c[1]!)
  return {
    'spend_anomaly.events': events,
    'spend_anomaly.days': num(c[2]!),
    'spend_anomaly.clean.events_per_s': Math.round(events / num(c[3]!)),
    'spend_anomaly.clean.false_alerts': num(f[1]!),
    'spend_anomaly.clean.findings_all_detectors': num(f[2]!),
    'spend_anomaly.planted.spikes': num(caught[2]!),
    'spend_anomaly.planted.caught': num(caught[1]!),
    'spend_anomaly.planted.delay_s.max': num(caught[3]!),
    'spend_anomaly.planted.delay_s.min': num(caught[4]!),
    'spend_anomaly.planted.other_firings': num(caught[5]!),
    'spend_anomaly.planted.events_per_s': Math.round(events / num(p[2]!)),
  }
}

/**
 * bench/spend-anomaly.ts, its `clean` (no false alert) and `planted` (each spike caught within a tick)
 * runs. Quick: 30,000 events over 7 days; full: 1,000,000 over 28 days (the script's defaults).
 */
export const spendAnomalyPart: BenchPart = {
  name: 'spend_anomaly',
  async run(opts: BenchOptions) {
    const { quick } = opts
    const log = (line: string) => opts.log(line)
    const args = quick ? ['--events', '30000', '--days', '7'] : []
    const timeout = quick ? 600_000 : 4 * 3_600_000
    const clean = await runScript('spend-anomaly.js', [...args, '--part', 'clean'], log, timeout)
    const planted = await runScript('spend-anomaly.js', [...args, '--part', 'planted'], log, timeout)
    return spendAnomalyFigures(clean, planted)
  },
}
