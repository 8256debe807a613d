import type { Command } from 'commander'
import pino from 'pino'
import { loadConfig } from '../config.js'
import { httpClient, type ApiClient } from './api-client.js'

/** Default address of a local Gatewarden (the server's default host and port). */
export const DEFAULT_URL = 'http://127.0.0.1:4318'

/** Options every reading command takes. */
export interface SourceOptions {
  url?: string
  store?: string | boolean
}

/** Adds `--url` and `--store` to a command. */
export function withSource(cmd: Command): Command {
  return cmd
    .option('--url <url>', `a running Gatewarden (default ${DEFAULT_URL}; token from GATEWARDEN_AUTH_TOKEN)`)
    .option(
      '--store [data_dir]',
      'read the store directly instead (read-only; the configured data_dir or CLICKHOUSE_URL, or this directory)',
    )
}

/**
 * The API client the options ask for: over HTTP (`--url`, default), or in-process on the store
 * (`--store`), which reads the config (`--config`, GATEWARDEN_CONFIG, ./gatewarden.yaml) for it.
 * The environment is read here, in the CLI's entry, and nowhere below.
 */
export async function connect(
  o: SourceOptions,
  env: NodeJS.ProcessEnv,
  configPath?: string,
): Promise<ApiClient> {
  if (o.store !== undefined && o.store !== false) {
    const config = loadConfig(env, configPath)
    // loaded only here: the store adapters (chdb) cost the HTTP mode a second of start-up otherwise
    const { storeClient } = await import('./store-ports.js')
    return storeClient(config, pino({ level: 'silent' }), typeof o.store === 'string' ? o.store : undefined)
  }
  return httpClient(o.url ?? env.GATEWARDEN_URL ?? DEFAULT_URL, env.GATEWARDEN_AUTH_TOKEN || undefined)
}

/** Runs `body` with a client and closes it afterwards, whatever happened. */
export async function withClient<T>(
  o: SourceOptions,
  env: NodeJS.ProcessEnv,
  configPath: string | undefined,
  body: (c: ApiClient) => Promise<T>,
): Promise<T> {
  const c = await connect(o, env, configPath)
  try {
    return await body(c)
  } finally {
    await c.close()
  }
}
