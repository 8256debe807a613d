#!/usr/bin/env node
import { Command } from 'commander'
import type { Logger } from 'pino'
import { isGatewardenError } from '../core/errors.js'
import { loadConfig } from './config.js'
import { failpointsFromEnv, processFailpoints } from './failpoints.js'
import { registerReplay } from './replay/command.js'
import { registerCost } from './cli/cost-command.js'
import { registerLists } from './cli/list-commands.js'
import { registerReport } from './cli/report-command.js'
import { createLogger } from './logger.js'

/** Seconds a graceful stop may take before the process exits anyway. */
const STOP_TIMEOUT_MS = 15_000

function fail(err: unknown): never {
  // before a logger exists (bad config) the message goes to stderr as plain text
  process.stderr.write(
    `gatewarden: ${isGatewardenError(err) ? err.message : String((err as Error)?.stack ?? err)}\n`,
  )
  process.exit(isGatewardenError(err, 'GW_CONFIG_INVALID') ? 2 : 1)
}

function onSignals(log: Logger, stop: () => Promise<void>): void {
  const handler = (signal: string) => {
    log.info({ signal }, 'signal received')
    const timer = setTimeout(() => {
      log.error({ timeoutMs: STOP_TIMEOUT_MS }, 'graceful stop timed out')
      process.exit(1)
    }, STOP_TIMEOUT_MS)
    timer.unref()
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stop failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', handler)
  process.once('SIGINT', handler)
}

const program = new Command()
  .name('gatewarden')
  .description('Observability and guardrail sidecar for LLM gateway spend')
  .option('-c, --config <file>', 'YAML config file (default: $GATEWARDEN_CONFIG or ./gatewarden.yaml)')

program
  .command('start')
  .description('run ingest, store and API in one process')
  .action(async () => {
    let config
    let plan
    try {
      config = loadConfig(process.env, program.opts<{ config?: string }>().config)
      plan = failpointsFromEnv(process.env)
    } catch (err) {
      fail(err)
    }
    const log = createLogger(config.log.level)
    try {
      // imported here, so that the reading commands (cost, top, ...) start without the whole server
      const { startTracing } = await import('./tracing.js')
      const { start } = await import('./start.js')
      const stopTracing = await startTracing(process.env)
      const running = await start(config, log, Date.now, { failpoints: processFailpoints(plan, log) })
      onSignals(log, async () => {
        await running.stop()
        await stopTracing()
      })
    } catch (err) {
      log.fatal({ err }, 'start failed')
      fail(err)
    }
  })

program
  .command('check-config')
  .description('validate the configuration and print it (secrets hidden)')
  .action(() => {
    try {
      const c = loadConfig(process.env, program.opts<{ config?: string }>().config)
      failpointsFromEnv(process.env)
      const shown = {
        ...c,
        server: { ...c.server, auth_token: c.server.auth_token ? '[set]' : undefined },
        store: { ...c.store, clickhouse_password: c.store.clickhouse_password ? '[set]' : '' },
      }
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`)
    } catch (err) {
      fail(err)
    }
  })

registerReplay(program, fail)
registerCost(program, process.env, process.stdout)
registerLists(program, process.env, process.stdout)
registerReport(program, process.env, process.stdout)

// the reading commands throw their expected failures: one line naming the fix, exit 1 (usage: 2)
await program.parseAsync(process.argv).catch(fail)
