/**
 * Thin adapters that make parts of the detector benchmarks with a CLI of their own, bench/detection.ts
 * (`npm run bench:detect`) and bench/spend-anomaly.ts: each runs the built script as a child process with
 * its own options, echoes its output, and reads the figures from the lines it prints. The scripts stay
 * as they are (their internals may change); a line the adapter needs and cannot find fails the part,
 * with the output, rather than dropping the figure silently.
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
/** A time as bench/detection.ts prints it (`123 ms`, `12.3 s`), in ms. */
const msOf = (value: string, unit: string) => (unit === 's' ? num(value) * 1000 : num(value))

/** The first match of `re` in `text`, or a part failure naming what is missing. */
function need(text: string, re: RegExp, what: string): RegExpExecArray {
  const m = re.exec(text)
  if (!m) throw new Error(`the output has no ${what} (${re}); did its format change?\n${text.slice(-3000)}`)
  return m
}

const TIME = String.raw`([\d.,]+|NaN) (ms|s)`

/** Figures of one `(a) false alerts` block of bench/detection.ts. */
function cleanFigures(block: string): BenchFigures {
  const events = need(block, /\(a\) false alerts: ([\d,]+) clean events/, 'event count')
  const rate = need(block, /throughput[^:]*: ([\d,]+) events\/s/, 'throughput')
  const ratio = need(block, /ratio to ceiling: ([\d.]+)/, 'ratio to ceiling')
  const findings = need(block, /\n\s+findings: (\d+)/, 'findings count')
  const rss = /peak RSS[^:]*: ([\d.]+) MiB/.exec(block)
  return {
    'detection.clean.events': num(events[1]!),
    'detection.clean.events_per_s': num(rate[1]!),
    'detection.clean.ratio_to_map_ceiling': num(ratio[1]!),
    'detection.clean.false_alerts': num(findings[1]!),
    ...(rss ? { 'detection.clean.rss_mib.peak': num(rss[1]!) } : {}),
  }
}

/** Figures of one `(b) detection latency, <label>` block; `kind` names them (`loop`, `loop_tick_1s`). */
function liveFigures(block: string, kind: string): BenchFigures {
  const client = need(
    block,
    new RegExp(String.raw`client side[^:]*\): (\d+)/(\d+) seen, p50 ${TIME}, p99 ${TIME}, max ${TIME}`),
    'client-side latencies',
  )
  const engine = new RegExp(String.raw`engine\.latencies\(\)[^:]*\): n=(\d+), p50 ${TIME}, p99 ${TIME}`).exec(
    block,
  )
  const other = need(block, /other alerts[^:]*: (\d+)/, 'other alerts count')
  const rss = /peak RSS[^:]*: ([\d.]+) MiB/.exec(block)
  const c = client.slice(1)
  return {
    [`detection.${kind}.planted`]: num(c[1]!),
    [`detection.${kind}.seen`]: num(c[0]!),
    [`detection.${kind}.latency_ms.p50`]: msOf(c[2]!, c[3]!),
    [`detection.${kind}.latency_ms.p99`]: msOf(c[4]!, c[5]!),
    [`detection.${kind}.latency_ms.max`]: msOf(c[6]!, c[7]!),
    ...(engine
      ? {
          [`detection.${kind}.engine_latency_ms.p50`]: msOf(engine[2]!, engine[3]!),
          [`detection.${kind}.engine_latency_ms.p99`]: msOf(engine[4]!, engine[5]!),
        }
      : {}),
    [`detection.${kind}.false_alerts`]: num(other[1]!),
    ...(rss ? { [`detection.${kind}.rss_mib.peak`]: num(rss[1]!) } : {}),
  }
}

/** Splits bench/detection.ts's output into its `(a)` / `(b)` blocks and reads each. */
export function detectionFigures(out: string): BenchFigures {
  const blocks = out.split(/\n(?=\(\w\) )/).map((b) => b.trim())
  const figures: BenchFigures = {}
  for (const b of blocks) {
    if (b.startsWith('(a) ')) Object.assign(figures, cleanFigures(b))
    const live = /^\(b\) detection latency, ([^:]+):/.exec(b)
    if (live)
      Object.assign(
        figures,
        liveFigures(b, live[1] === 'default config' ? 'loop' : `loop_${live[1]!.replace(/\W+/g, '_')}`),
      )
  }
  if (!('detection.clean.events_per_s' in figures) || !('detection.loop.latency_ms.p99' in figures))
    throw new Error(`bench/detection.ts printed no (a) or no (b) default-config block\n${out.slice(-3000)}`)
  return figures
}

/**
 * bench/detection.ts: false alerts and throughput of `runDetectors` on the clean stream, and the loop
 * detection latency of a live Gatewarden. Quick: 100,000 events, 20 loops, the default config only
 * (its `--part` runs); full: the script's defaults, all its parts.
 */
export const detectionPart: BenchPart = {
  name: 'detection',
  async run(opts: BenchOptions) {
    const { quick } = opts
    const log = (line: string) => opts.log(line)
    if (!quick) return detectionFigures(await runScript('detection.js', [], log, 3 * 3_600_000))
    const args = ['--events', '100000', '--loops', '20', '--rate', '100']
    let out = ''
    for (const part of ['clean', 'live-default'])
      out += `${await runScript('detection.js', [...args, '--part', part], log, 600_000)}\n`
    return detectionFigures(out)
  },
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
