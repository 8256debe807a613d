import { resolveAfterOf } from '../../core/alerts/resolve-after.js'
import { SingleBar } from 'cli-progress'
import type { Command } from 'commander'
import { GatewardenError } from '../../core/errors.js'
import type { DetectorPolicy } from '../../core/detectors/runner.js'
import type { Config } from '../../schemas/config.js'
import { loadConfig } from '../config.js'
import pino from 'pino'
import { fileEvents } from './file-source.js'
import { createLogger } from '../logger.js'
import { ParsePool, parseWorkerCount } from '../ingest/parse-pool.js'
import { buildReport, formatReport, type ReplayReport } from './report.js'
import { replayEvents, warmupStart, type ReplayCounters } from './run.js'
import { countEvents, openReplayStore, storeEvents } from './store-source.js'
import { EnforcementSimulator } from '../../core/rules/simulate.js'
import { loadPriceTable } from '../ingest/price-table.js'

/** `--enforce`: the enforcer's policy from the config, simulated (nothing is pushed). */
const simulator = (config: Config, on: boolean | undefined) =>
  on
    ? new EnforcementSimulator(
        { enforcement: config.enforcement, zombieAction: config.detectors.zombie.action },
        loadPriceTable(config.pricing),
        config.detectors.allowed_lateness,
        resolveAfterOf(config.detectors),
      )
    : undefined
const withEnforcement = (report: ReplayReport, sim: EnforcementSimulator | undefined, end: number | null) =>
  sim ? { ...report, enforcement: sim.report(end ?? 0) } : report

interface ReplayOptions {
  from?: string
  to?: string
  json?: boolean
  warmup: boolean
  enforce?: boolean
}

const EXAMPLES = `
Examples:
  gatewarden replay litellm-2026-03.ndjson.gz          what the detectors would have fired on a file
  gatewarden replay payloads.json --json | jq .stats   the same as one JSON object
  gatewarden replay litellm-2026-03.ndjson.gz --enforce the rules enforcement would have made, and the
                                                       spend they would have saved
  gatewarden replay --from 2026-03-01T00:00:00Z --to 2026-03-08T00:00:00Z
                                                       over the configured store (data_dir or CLICKHOUSE_URL)

Budgets and detector settings come from the config (--config, GATEWARDEN_CONFIG, ./gatewarden.yaml),
as for \`start\`: edit thresholds there and replay again to tune them before turning enforcement on.
The embedded store (data_dir) serves one process at a time: stop \`gatewarden start\` on that
directory first, or run on a ClickHouse server (CLICKHOUSE_URL).`

const usage = (message: string) => new GatewardenError('GW_CONFIG_INVALID', `replay: ${message}`, false)

function instant(name: string, value: string): number {
  const ms = Date.parse(value)
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms))
    throw usage(`${name} ${JSON.stringify(value)} is not an ISO-8601 instant (e.g. 2026-03-01T00:00:00Z)`)
  return ms
}

/** A progress bar on stderr, only when stderr is a terminal (never in pipes, CI logs or tests). */
function progressBar(unit: 'MiB' | 'events'): SingleBar | undefined {
  if (!process.stderr.isTTY) return undefined
  return new SingleBar({
    stream: process.stderr,
    format: `replay |{bar}| {percentage}% | {done}/{all} ${unit} | {events} events | {findings} findings | ETA {eta_formatted}`,
    barsize: 30,
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 50,
  })
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

async function replayFile(
  path: string,
  config: Config,
  policy: DetectorPolicy,
  enforce: boolean | undefined,
): Promise<ReplayReport> {
  const sim = simulator(config, enforce)
  const started = performance.now()
  const mapper = {
    source: 'litellm_http' as const,
    gateway: config.gateway,
    attribution: config.attribution,
    // replay keeps no text: fingerprints are computed either way
    privacy: { ...config.privacy, store_prompts: false },
  }
  // parsing and mapping on workers (ingest.parse_workers, as `start`), the detectors on this thread
  const workers = parseWorkerCount(config.ingest.parse_workers)
  const pool =
    workers > 0
      ? new ParsePool(workers, { litellm: mapper }, createLogger('warn', pino.destination(2)))
      : null
  await pool?.start()
  let source: ReturnType<typeof fileEvents>
  try {
    source = fileEvents(path, mapper, pool?.prepareLines)
  } catch (err) {
    await pool?.shutdown()
    throw err
  }
  const { stats, events } = source
  const bar = progressBar('MiB')
  bar?.start(stats.totalBytes, 0, { done: '0.0', all: mib(stats.totalBytes), events: 0, findings: 0 })
  const show = (c: ReplayCounters) =>
    bar?.update(stats.bytesRead, { done: mib(stats.bytesRead), events: c.read, findings: c.findings })
  try {
    const run = await replayEvents(events, policy, {
      onEvent: (c) => c.read % 2000 === 0 && show(c),
      ...(sim ? { enforce: sim } : {}),
    })
    show(run.counters)
    const report = buildReport({
      source: { kind: 'file', path, format: stats.format },
      findings: run.findings,
      alertChanges: run.alerts,
      events: run.counters.read,
      warmupEvents: 0,
      invalid: stats.invalid,
      invalidSamples: stats.invalidSamples,
      duplicates: stats.duplicates,
      late: run.runner.late,
      firstTs: run.counters.firstTs,
      lastTs: run.counters.lastTs,
      durationMs: performance.now() - started,
    })
    return withEnforcement(report, sim, run.counters.lastTs)
  } finally {
    bar?.stop()
    await pool?.shutdown()
  }
}

async function replayStore(
  range: { from: number; to: number; warmup: boolean },
  config: Config,
  policy: DetectorPolicy,
  enforce: boolean | undefined,
): Promise<ReplayReport> {
  const sim = simulator(config, enforce)
  const started = performance.now()
  const store = await openReplayStore(config.store)
  const bar = progressBar('events')
  try {
    const readFrom = range.warmup ? warmupStart(policy, range.from) : range.from
    const total = await countEvents(store, readFrom, range.to)
    bar?.start(total, 0, { done: 0, all: total, events: 0, findings: 0 })
    const show = (c: ReplayCounters) =>
      bar?.update(c.read, { done: c.read, events: c.read, findings: c.findings })
    const until = Math.min(range.to, Date.now()) - 1
    const run = await replayEvents(storeEvents(store, readFrom, range.to), policy, {
      reportFrom: range.from,
      ...(sim ? { enforce: sim } : {}),
      // tick on to the end of the range (not into the future): what time alone resolved by then
      until,
      onEvent: (c) => c.read % 2000 === 0 && show(c),
    })
    show(run.counters)
    const report = buildReport({
      source: {
        kind: 'store',
        location: store.location,
        database: store.database,
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
        warmup_from: readFrom < range.from ? new Date(readFrom).toISOString() : null,
      },
      findings: run.findings,
      alertChanges: run.alerts,
      events: run.counters.read - run.counters.warmup,
      warmupEvents: run.counters.warmup,
      invalid: 0,
      invalidSamples: [],
      duplicates: 0,
      late: run.runner.late,
      firstTs: run.counters.firstTs,
      lastTs: run.counters.lastTs,
      durationMs: performance.now() - started,
    })
    return withEnforcement(report, sim, until)
  } finally {
    bar?.stop()
    await store.client.close()
  }
}

/**
 * Registers `gatewarden replay`: the detectors over history (a file of LiteLLM payloads, or the store
 * over [--from, --to)), printing what would have fired and when. Findings and the summary go to stdout
 * (`--json`: one JSON object and nothing else); the progress bar goes to stderr when it is a terminal.
 */
export function registerReplay(program: Command, fail: (err: unknown) => never): void {
  program
    .command('replay')
    .description(
      'run the detectors over history (a file of LiteLLM payloads, or the store) and print what would have fired',
    )
    .argument(
      '[file]',
      'LiteLLM StandardLoggingPayloads: NDJSON (one payload or one array per line) or a JSON array; .gz is gunzipped',
    )
    .option('--from <iso>', 'replay the store from this instant (inclusive), instead of a file')
    .option('--to <iso>', 'end of the store range (exclusive; default: now)')
    .option('--json', 'print one JSON object (findings + stats) to stdout, nothing else')
    .option(
      '--enforce',
      'also show the guardrail rules the findings would have made (enforcement policy of the config), how long each held and the spend it would have saved',
    )
    .option('--no-warmup', 'store: do not read events before --from to rebuild budget/loop/zombie state')
    .addHelpText('after', EXAMPLES)
    .action(async (file: string | undefined, opts: ReplayOptions, cmd: Command) => {
      let report: ReplayReport
      try {
        if (file !== undefined && (opts.from !== undefined || opts.to !== undefined))
          throw usage('give a file or --from/--to (the store), not both')
        if (file === undefined && opts.from === undefined)
          throw usage('give a file of LiteLLM payloads, or --from ISO [--to ISO] to replay the store')
        const config = loadConfig(process.env, cmd.optsWithGlobals<{ config?: string }>().config)
        const policy: DetectorPolicy = { budgets: config.budgets, detectors: config.detectors }
        if (file !== undefined) report = await replayFile(file, config, policy, opts.enforce)
        else {
          const from = instant('--from', opts.from!)
          const to = opts.to === undefined ? Date.now() : instant('--to', opts.to)
          if (to <= from) throw usage(`--to (${opts.to ?? 'now'}) must be after --from (${opts.from})`)
          report = await replayStore({ from, to, warmup: opts.warmup }, config, policy, opts.enforce)
        }
      } catch (err) {
        fail(err)
      }
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatReport(report))
    })
}
