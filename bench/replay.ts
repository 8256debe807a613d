/**
 * Replay part: `gatewarden replay FILE --json` (the built CLI as a child process, as users run it) over
 * an NDJSON file of bench/traffic.ts payloads on its default calendar window (Tue 2026-11-03 05:00-12:00
 * UTC) with the four planted incidents, and a config holding the budgets they run against.
 *
 * Figures: events/s over the whole command (process start, file read, parse, map, dedupe, detectors,
 * report) and over the command's own `duration_ms`; the file's size; the child's peak RSS (VmHWM,
 * sampled until it exits); the planted incidents found (of 4) and the firing alerts about anything else
 * (false alerts, expected 0).
 */
import { spawn } from 'node:child_process'
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ReplayReport } from '../services/replay/report.js'
import { REPO_ROOT } from '../test/support/paths.js'
import type { BenchOptions, BenchPart } from './part.js'
import { plantedIncidents, trafficBudgets, trafficPayloads, type TrafficOptions } from './traffic.js'
import { procMiB, r3 } from './workload.js'

/** Runs `gatewarden <args>` to its end, sampling its VmHWM (the last sample before exit is the peak). */
function runSampled(
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string; peakMiB: number; secs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/services/cli.js'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let peak = NaN
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const sampler = setInterval(() => {
      const m = procMiB(child.pid!, 'VmHWM')
      if (Number.isFinite(m)) peak = m
    }, 50)
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`gatewarden ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
    child.once('exit', (code) => {
      const secs = (performance.now() - t0) / 1000
      clearInterval(sampler)
      clearTimeout(timer)
      resolve({ code, stdout, stderr, peakMiB: peak, secs })
    })
  })
}

export const replayPart: BenchPart = {
  name: 'replay',
  async run(bench: BenchOptions) {
    const { quick } = bench
    const log = (line: string) => bench.log(line)
    const opts: TrafficOptions = { events: quick ? 20_000 : 200_000, seed: 20 }
    const dir = mkdtempSync(join(tmpdir(), 'gw-bench-replay-'))
    try {
      const file = join(dir, 'history.ndjson')
      const w = createWriteStream(file)
      let events = 0
      for (const p of trafficPayloads(opts)) {
        events++
        if (!w.write(`${JSON.stringify(p)}\n`)) await new Promise<void>((r) => w.once('drain', () => r()))
      }
      await new Promise<void>((r) => w.end(() => r()))
      const bytes = statSync(file).size
      const config = join(dir, 'gatewarden.yaml')
      // JSON is YAML; the store is not opened by a file replay, but name one of our own anyway
      writeFileSync(
        config,
        JSON.stringify({ store: { data_dir: join(dir, 'data') }, budgets: trafficBudgets(opts) }),
      )

      const run = await runSampled(
        ['replay', file, '--json'],
        { GATEWARDEN_CONFIG: config },
        quick ? 300_000 : 3_600_000,
      )
      if (run.code !== 0)
        throw new Error(`gatewarden replay exited with ${run.code}\n${run.stderr.slice(-2000)}`)
      const report = JSON.parse(run.stdout) as ReplayReport
      if (report.stats.events !== events)
        throw new Error(`replay judged ${report.stats.events} events of ${events}`)

      const planted = plantedIncidents(opts)
      const firing = report.findings.filter((f) => f.state === 'firing')
      const label = (f: { type: string; scope: { kind: string; id: string } }) =>
        `${f.type} ${f.scope.kind}:${f.scope.id}`
      const found = planted.filter((p) =>
        firing.some((f) => label(f) === `${p.kind} ${p.scope.kind}:${p.scope.id}`),
      )
      const plantedScopes = new Set(planted.flatMap((p) => [p.scope.id, p.trace, p.customer, p.keyHash]))
      const other = firing.filter((f) => !plantedScopes.has(f.scope.id))
      const rate = events / run.secs
      const inReport = events / (report.stats.duration_ms / 1000)
      log(
        `gatewarden replay of ${events} events (${(bytes / 1048576).toFixed(1)} MiB NDJSON): ${run.secs.toFixed(2)} s, ${Math.round(rate)} events/s (${Math.round(inReport)} events/s over its own duration_ms); peak RSS ${run.peakMiB.toFixed(0)} MiB`,
      )
      log(
        `planted incidents found ${found.length}/${planted.length} (${found.map((p) => p.kind).join(', ')}); other firing alerts ${other.length}${
          other.length
            ? `: ${other
                .slice(0, 5)
                .map((f) => `${label(f)} ${f.summary}`)
                .join('; ')}`
            : ''
        }`,
      )
      return {
        'replay.events': events,
        'replay.file_mib': r3(bytes / 1048576),
        'replay.events_per_s': Math.round(rate),
        'replay.events_per_s.in_command': Math.round(inReport),
        'replay.wall_s': r3(run.secs),
        'replay.rss_mib.peak': r3(run.peakMiB),
        'replay.invalid': report.stats.invalid,
        'replay.findings': report.stats.findings,
        'replay.planted_found': found.length,
        'replay.planted': planted.length,
        'replay.false_alerts': other.length,
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
