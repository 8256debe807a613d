/**
 * `npm run bench`: every benchmark part (bench/part.ts) in turn, each in a child process of its own (so a
 * part's peak RSS is its own, and a crash is that part's), then one table of all figures, and
 * `bench/results/<UTC timestamp>.json` with the machine and the figures. A part that fails is reported
 * (its error in the table and the file) and makes the exit code 1; the other parts still run.
 *
 * Usage: npm run bench [-- --quick] [-- --only http,kafka] [-- --profile]
 *        node dist/bench/run.js [--quick] [--only name,name] [--profile]   (after a build)
 * `--profile`: the HTTP and Kafka parts run Gatewarden under V8's CPU profiler (bench/profile.ts); the
 * profiles go to `bench/results/profiles/<UTC timestamp>/<part>/` (not committed) and their busiest
 * functions are printed. A profiled run's figures are slower than an unprofiled one's.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { REPO_ROOT } from '../test/support/paths.js'
import type { BenchFigures, BenchPart } from './part.js'

/** Where a part's code is: a module under dist/bench and the name of its `BenchPart` export. */
interface PartSource {
  module: string
  export: string
}

/**
 * Every part, in run order: its name (the prefix of its figures) and where it is. `from` lists
 * candidates, the first whose module is built wins (for a part that another replaces: the new module
 * first). An `optional` part whose modules are all absent is skipped
 * and reported as such, not failed: the hook for parts written elsewhere that have not landed yet. The
 * parse ceiling runs first; ratios to it are computed after all parts ran (see `RATIOS`).
 */
export const PARTS: ReadonlyArray<{ name: string; from: PartSource[]; optional?: boolean }> = [
  { name: 'parse_ceiling', from: [{ module: 'parse-ceiling.js', export: 'parseCeiling' }] },
  { name: 'stages', from: [{ module: 'stages.js', export: 'stagesPart' }] },
  { name: 'store_ceiling', from: [{ module: 'store-ceiling.js', export: 'storeCeilingPart' }] },
  { name: 'http', from: [{ module: 'http-ingest.js', export: 'httpIngest' }] },
  { name: 'kafka', from: [{ module: 'kafka-ingest.js', export: 'kafkaIngest' }] },
  { name: 'replay', from: [{ module: 'replay.js', export: 'replayPart' }] },
  { name: 'detection', from: [{ module: 'detection-part.js', export: 'detectionPart' }] },
  { name: 'memory', from: [{ module: 'detection-memory.js', export: 'detectionMemoryPart' }] },
  { name: 'spend_anomaly', from: [{ module: 'cli-parts.js', export: 'spendAnomalyPart' }] },
  // written on another branch of issue 10: run when built, skipped (and said so) until it lands
  { name: 'query', from: [{ module: 'store-queries.js', export: 'storeQueries' }], optional: true },
]

/** The first candidate of a part whose module is built, if any. */
function sourceOf(entry: (typeof PARTS)[number]): PartSource | undefined {
  return entry.from.find((s) => existsSync(join(REPO_ROOT, 'dist/bench', s.module)))
}

/** Figures computed from other parts' figures of the same run: `[name, numerator, denominator]`. */
const RATIOS: ReadonlyArray<readonly [string, string, string]> = [
  ['http.ratio_to_parse_ceiling', 'http.end_to_end.events_per_s', 'parse_ceiling.events_per_s'],
  ['kafka.ratio_to_parse_ceiling', 'kafka.end_to_end.events_per_s', 'parse_ceiling.events_per_s'],
  ['replay.ratio_to_parse_ceiling', 'replay.events_per_s', 'parse_ceiling.events_per_s'],
  ['http.ratio_to_store_ceiling', 'http.end_to_end.events_per_s', 'store_ceiling.rows_per_s'],
  ['kafka.ratio_to_store_ceiling', 'kafka.end_to_end.events_per_s', 'store_ceiling.rows_per_s'],
]

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    /** Internal: where this part's profiles go (the runner gives each part its own directory). */
    'profile-dir': { type: 'string' },
    /** Internal: run this one part in this process (the runner's child), figures to `--out`. */
    part: { type: 'string' },
    out: { type: 'string' },
  },
})
const quick = values.quick
/** Longest a part may run: 15 minutes in the quick run, 4 hours in the full one. */
const PART_TIMEOUT_MS = (quick ? 15 : 240) * 60_000

/** The UTC timestamp that names a run's results file (and its profiles directory). */
const stampOf = (d: Date) =>
  d
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z')

const write = (line: string) => process.stdout.write(`${line}\n`)

/** The child: runs one part, writes its figures (JSON) to `--out`. */
async function child(name: string, out: string): Promise<void> {
  const entry = PARTS.find((p) => p.name === name)
  const source = entry && sourceOf(entry)
  if (!source) throw new Error(`no part ${name} (or none of its modules is built)`)
  const mod = (await import(pathToFileURL(join(REPO_ROOT, 'dist/bench', source.module)).href)) as Record<
    string,
    BenchPart | undefined
  >
  const part = mod[source.export]
  if (!part || typeof part.run !== 'function')
    throw new Error(`dist/bench/${source.module} exports no BenchPart ${source.export}`)
  const profileDir = values['profile-dir']
  const figures = await part.run({
    quick,
    log: (line) => write(`[${name}] ${line}`),
    ...(profileDir ? { profileDir } : {}),
  })
  const rss = process.resourceUsage().maxRSS / 1024
  writeFileSync(out, JSON.stringify({ ...figures, [`${name}.bench_process.rss_mib.peak`]: Math.round(rss) }))
}

interface PartResult {
  name: string
  ok: boolean
  wall_s: number
  /** The module it ran from. */
  module?: string
  error?: string
  /** An optional part whose module is not built: not run. */
  skipped?: string
}

/** Runs one part in a child process; its figures, or its failure. */
function runPart(
  name: string,
  dir: string,
  profileDir: string | undefined,
): Promise<{ result: PartResult; figures: BenchFigures }> {
  const out = join(dir, `${name}.json`)
  const t0 = performance.now()
  return new Promise((resolve) => {
    const args = [
      process.argv[1]!,
      '--part',
      name,
      '--out',
      out,
      ...(quick ? ['--quick'] : []),
      ...(profileDir ? ['--profile-dir', join(profileDir, name)] : []),
    ]
    // its own process group: a timeout or Ctrl-C ends the part and whatever it started (Gatewarden, broker)
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'], detached: true })
    const killGroup = () => {
      try {
        process.kill(-c.pid!, 'SIGKILL')
      } catch {
        /* already gone */
      }
    }
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      killGroup()
    }, PART_TIMEOUT_MS)
    const onSignal = () => {
      killGroup()
      process.exit(130)
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    let stderr = ''
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      process.stderr.write(d)
    })
    c.once('exit', (code, signal) => {
      clearTimeout(timer)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      const wall = Math.round((performance.now() - t0) / 100) / 10
      // whatever the part left running (a broker, a Gatewarden) goes with it
      killGroup()
      const fail = (error: string) =>
        resolve({ result: { name, ok: false, wall_s: wall, error }, figures: { [`${name}.wall_s`]: wall } })
      if (timedOut) return fail(`timed out after ${PART_TIMEOUT_MS / 60_000} min (killed)`)
      if (code !== 0) return fail(`exited with ${code ?? signal}: ${lastError(stderr)}`)
      try {
        const figures = JSON.parse(readFileSync(out, 'utf8')) as BenchFigures
        resolve({
          result: { name, ok: true, wall_s: wall },
          figures: { ...figures, [`${name}.wall_s`]: wall },
        })
      } catch (err) {
        fail(`no figures: ${String(err)}`)
      }
    })
  })
}

/** The gist of a child's stderr: its last error line (`Error: ...`, `FATAL ERROR: ...`), else its last line. */
function lastError(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '')
  const err = [...lines].reverse().find((l) => /^\s*(\w*Error\b|error\b|FATAL ERROR)/.test(l))
  return (err ?? lines.at(-1) ?? '').trim().slice(0, 500)
}

const sh = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return ''
  }
}

/** The machine, the engine and the code the figures come from. */
function machine(): Record<string, unknown> {
  const probe = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import { query } from 'chdb'; process.stdout.write(query('SELECT version()', 'TSV'))",
    ],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  )
  const chdb = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/chdb/package.json'), 'utf8')) as {
    version: string
  }
  return {
    cores: cpus().length,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpu_model: cpus()[0]?.model ?? '',
    node: process.version,
    engine_version:
      probe.status === 0 ? probe.stdout.trim() : `unknown (${probe.stderr.trim().slice(0, 200)})`,
    chdb_package: chdb.version,
    git_commit: sh('git', ['rev-parse', 'HEAD']),
    git_dirty: sh('git', ['status', '--porcelain']) !== '',
  }
}

const fmt = (v: number | string | boolean) =>
  typeof v !== 'number'
    ? String(v)
    : Number.isInteger(v)
      ? v.toLocaleString('en-US')
      : String(Math.round(v * 1000) / 1000)

async function main(): Promise<void> {
  if (values.part !== undefined) {
    // a part may leave handles open (a store connection, a timer): its figures are written, so end here
    await child(values.part, values.out ?? join(tmpdir(), `${values.part}.json`)).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
        process.exit(1)
      },
    )
  }
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const unknown = only?.filter((n) => !PARTS.some((p) => p.name === n)) ?? []
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown part(s) ${unknown.join(', ')}; parts: ${PARTS.map((p) => p.name).join(', ')}\n`,
    )
    process.exit(2)
  }
  const parts = PARTS.filter((p) => !only || only.includes(p.name))
  const started = new Date()
  const loadStart = loadavg()
  const info = machine()
  // one reference instant for every part: the same generated payloads in each (bench/workload.ts)
  process.env.GW_BENCH_T0 = String(started.getTime())
  write(
    `bench${quick ? ' --quick' : ''}: ${parts.map((p) => p.name).join(', ')} on ${String(info.cores)} cores (${String(info.cpu_model)}), load ${loadStart.map((x) => x.toFixed(2)).join(' ')}`,
  )
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-run-'))
  const profileDir = values.profile
    ? join(REPO_ROOT, 'bench', 'results', 'profiles', stampOf(started))
    : undefined
  const results: PartResult[] = []
  const figures: BenchFigures = {}
  try {
    for (const p of parts) {
      const source = sourceOf(p)
      if (!source && p.optional) {
        const why = `not built: ${p.from.map((f) => `dist/bench/${f.module}`).join(', ')} absent`
        results.push({ name: p.name, ok: true, wall_s: 0, skipped: why })
        write(`--- ${p.name}: SKIPPED (${why})`)
        continue
      }
      write(`--- ${p.name}${source ? ` (${source.module})` : ''}`)
      const r = await runPart(p.name, dir, profileDir)
      results.push({ ...r.result, ...(source ? { module: source.module } : {}) })
      Object.assign(figures, r.figures)
      if (!r.result.ok) write(`[${p.name}] FAILED: ${r.result.error}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  for (const [name, a, b] of RATIOS) {
    const x = figures[a]
    const y = figures[b]
    if (typeof x === 'number' && typeof y === 'number' && y > 0)
      figures[name] = Math.round((x / y) * 1000) / 1000
  }
  const loadEnd = loadavg()
  const finished = new Date()

  // the table: every figure, by part, then the failures
  const names = Object.keys(figures).sort()
  const width = Math.max(...names.map((n) => n.length), 10)
  write('')
  write(`${'figure'.padEnd(width)}  value`)
  for (const n of names) write(`${n.padEnd(width)}  ${fmt(figures[n]!)}`)
  const failed = results.filter((r) => !r.ok)
  for (const f of failed) write(`FAILED ${f.name}: ${f.error}`)
  for (const r of results) if (r.skipped) write(`SKIPPED ${r.name}: ${r.skipped}`)
  write(
    `${results.filter((r) => r.ok && !r.skipped).length}/${results.filter((r) => !r.skipped).length} parts ok${results.some((r) => r.skipped) ? ` (${results.filter((r) => r.skipped).length} skipped)` : ''} in ${((finished.getTime() - started.getTime()) / 1000).toFixed(1)} s; load ${loadStart.map((x) => x.toFixed(2)).join(' ')} at start, ${loadEnd.map((x) => x.toFixed(2)).join(' ')} at end`,
  )

  const stamp = stampOf(started)
  const file = join(REPO_ROOT, 'bench', 'results', `${stamp}.json`)
  mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true })
  const record = {
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    command: `node dist/bench/run.js${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    quick,
    machine: {
      ...info,
      loadavg_start: loadStart.map((x) => Math.round(x * 100) / 100),
      loadavg_end: loadEnd.map((x) => Math.round(x * 100) / 100),
    },
    parts: results,
    figures: Object.fromEntries(names.map((n) => [n, figures[n]])),
  }
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`)
  write(`results: ${file}`)
  if (failed.length > 0) process.exitCode = 1
}

await main()
