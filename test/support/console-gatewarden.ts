import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnGatewarden, stopGracefully, type GatewardenProcess } from './gatewarden-process.js'

/** The config the console tests run: rules in dry run, a budget on acme, a fast detection tick. */
const CONFIG = [
  'enforcement: { mode: dry_run }',
  'detectors: { tick: 1s }',
  'budgets:',
  '  - { name: acme-monthly, scope: { customer: acme }, limit_usd: 500, period: month }',
  '  - { name: globex-daily, scope: { customer: globex }, limit_usd: 0.5, period: day }',
  '',
].join('\n')

/** A `gatewarden start` child on its own embedded store (or CLICKHOUSE_URL's database of its own). */
export interface ConsoleGatewarden {
  gw: GatewardenProcess
  url: string
  stop(): Promise<void>
}

export async function startConsoleGatewarden(
  name: string,
  extraEnv: Record<string, string> = {},
): Promise<ConsoleGatewarden> {
  const work = mkdtempSync(join(tmpdir(), `gw-${name}-`))
  writeFileSync(join(work, 'gatewarden.yaml'), CONFIG)
  const gw = await spawnGatewarden({
    GATEWARDEN_CONFIG: join(work, 'gatewarden.yaml'),
    GATEWARDEN_DATA_DIR: join(work, 'data'),
    CLICKHOUSE_DATABASE: `${name.replaceAll('-', '_')}_${process.pid}`,
    ...(process.env.CLICKHOUSE_URL ? { CLICKHOUSE_URL: process.env.CLICKHOUSE_URL } : {}),
    ...extraEnv,
  })
  return {
    gw,
    url: gw.url,
    stop: async () => {
      await stopGracefully(gw)
      rmSync(work, { recursive: true, force: true })
    },
  }
}
