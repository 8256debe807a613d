import { existsSync, readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { Config } from '../schemas/config.js'
import { GatewardenError } from '../core/errors.js'

/** Environment variables that override the file, and the key each sets. */
export const ENV_OVERRIDES: ReadonlyArray<
  readonly [env: string, path: string, kind: 'string' | 'number' | 'boolean' | 'list']
> = [
  ['HOST', 'server.host', 'string'],
  ['PORT', 'server.port', 'number'],
  ['GATEWARDEN_AUTH_TOKEN', 'server.auth_token', 'string'],
  ['GATEWARDEN_BODY_LIMIT_BYTES', 'server.body_limit_bytes', 'number'],
  ['GATEWARDEN_DATA_DIR', 'store.data_dir', 'string'],
  ['CLICKHOUSE_URL', 'store.clickhouse_url', 'string'],
  ['CLICKHOUSE_USER', 'store.clickhouse_user', 'string'],
  ['CLICKHOUSE_PASSWORD', 'store.clickhouse_password', 'string'],
  ['CLICKHOUSE_DATABASE', 'store.database', 'string'],
  ['GATEWARDEN_RETENTION_DAYS', 'store.retention_days', 'number'],
  ['GATEWARDEN_STORE_PROMPTS', 'privacy.store_prompts', 'boolean'],
  ['LOG_LEVEL', 'log.level', 'string'],
  ['KAFKA_BROKERS', 'kafka.brokers', 'list'],
  ['KAFKA_TOPICS', 'kafka.topics', 'list'],
  ['KAFKA_GROUP_ID', 'kafka.group_id', 'string'],
  ['GATEWARDEN_ENFORCEMENT_MODE', 'enforcement.mode', 'string'],
]

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = obj
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null) node[k] = {}
    node = node[k] as Record<string, unknown>
  }
  node[keys.at(-1)!] = value
}

function envValue(raw: string, kind: 'string' | 'number' | 'boolean' | 'list'): unknown {
  if (kind === 'list')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  if (kind === 'number') return raw.trim() !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw
  if (kind === 'boolean')
    return /^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off)$/i.test(raw) ? false : raw
  return raw
}

/** Where the config file is: `--config`, GATEWARDEN_CONFIG, or ./gatewarden.yaml when present. */
export function configPath(env: NodeJS.ProcessEnv, explicit?: string): string | undefined {
  if (explicit) return explicit
  if (env.GATEWARDEN_CONFIG) return env.GATEWARDEN_CONFIG
  return existsSync('gatewarden.yaml') ? 'gatewarden.yaml' : undefined
}

/**
 * Reads the YAML file and the environment overrides and validates them once.
 * Throws GW_CONFIG_INVALID with one line per problem, naming the key (and the env variable that set it).
 */
export function loadConfig(env: NodeJS.ProcessEnv, explicitPath?: string): Config {
  const path = configPath(env, explicitPath)
  let doc: Record<string, unknown> = {}
  if (path) {
    if (!existsSync(path))
      throw new GatewardenError('GW_CONFIG_INVALID', `config file not found: ${path}`, false)
    let parsed: unknown
    try {
      parsed = parseYaml(readFileSync(path, 'utf8'))
    } catch (err) {
      throw new GatewardenError(
        'GW_CONFIG_INVALID',
        `config file ${path} is not valid YAML: ${(err as Error).message}`,
        false,
      )
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new GatewardenError('GW_CONFIG_INVALID', `config file ${path} must be a YAML mapping`, false)
    }
    doc = (parsed as Record<string, unknown> | null) ?? {}
  }
  const fromEnv = new Map<string, string>()
  for (const [name, key, kind] of ENV_OVERRIDES) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    setPath(doc, key, envValue(raw, kind))
    fromEnv.set(key, name)
  }
  const result = Config.safeParse(doc)
  if (result.success) return result.data
  const lines = result.error.issues.map((i) => {
    const key = i.path.join('.') || '(root)'
    const via = fromEnv.get(key)
    return `  - ${key}${via ? ` (from env ${via})` : ''}: ${i.message}`
  })
  throw new GatewardenError(
    'GW_CONFIG_INVALID',
    `invalid configuration${path ? ` in ${path}` : ''}:\n${lines.join('\n')}`,
    false,
  )
}
