import type { Logger } from 'pino'
import { GatewardenError } from '../../core/errors.js'
import type { GatewayTarget } from '../../core/ports/gateway-target.js'
import type { RetryClock, RetryPolicy } from '../../core/retry.js'
import type { GatewayTargetConfig } from '../../schemas/enforcement-config.js'
import { LiteLLMAdminTarget } from './litellm-admin-target.js'
import { WebhookTarget } from './webhook-target.js'

/** What the service hands the factory. */
export interface TargetDeps {
  /** Looks a secret up by environment variable name (the service passes `(n) => process.env[n]`). */
  secrets: (envName: string) => string | undefined
  /** Reads a secret file (the service passes `(p) => readFileSync(p, 'utf8')`); may throw. */
  readFile: (path: string) => string
  log: Logger
  fetch?: typeof fetch
  retry?: RetryPolicy
  clock?: RetryClock
  now?: () => number
}

/**
 * One target per configured gateway (`enforcement.targets`), named `<name>` (litellm_admin) or
 * `webhook:<name>`. Fails at start with GW_CONFIG_INVALID, naming the target and the variable or file,
 * when a secret is missing or two targets share a name. Secret values never appear in messages.
 */
export function createGatewayTargets(
  configs: readonly GatewayTargetConfig[],
  deps: TargetDeps,
): GatewayTarget[] {
  const targets = configs.map((c, i) => createGatewayTarget(c, i, deps))
  const names = targets.map((t) => t.name)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup !== undefined) {
    throw new GatewardenError(
      'GW_CONFIG_INVALID',
      `enforcement.targets: two targets are named "${dup}"; give each a distinct name`,
      false,
    )
  }
  return targets
}

function createGatewayTarget(c: GatewayTargetConfig, index: number, deps: TargetDeps): GatewayTarget {
  const where = `enforcement.targets[${index}] (${c.type} "${c.name}")`
  const invalid = (why: string) => new GatewardenError('GW_CONFIG_INVALID', `${where}: ${why}`, false)
  const http = {
    timeoutMs: c.timeout,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  }
  const log = deps.log.child({ component: 'gateway-target', target: c.name, target_type: c.type })
  switch (c.type) {
    case 'litellm_admin': {
      let key: string | undefined
      if (c.master_key_env) {
        key = deps.secrets(c.master_key_env)?.trim()
        if (!key)
          throw invalid(
            `environment variable ${c.master_key_env} is not set; it must hold the LiteLLM master key`,
          )
      } else if (c.master_key_file) {
        try {
          key = deps.readFile(c.master_key_file).trim()
        } catch (err) {
          const code = (err as { code?: unknown }).code
          throw invalid(
            `cannot read master_key_file ${c.master_key_file}${typeof code === 'string' ? ` (${code})` : ''}`,
          )
        }
        if (!key)
          throw invalid(`master_key_file ${c.master_key_file} is empty; it must hold the LiteLLM master key`)
      }
      if (!key) throw invalid('set exactly one of master_key_env, master_key_file')
      return new LiteLLMAdminTarget(c.name, c.url, key, http, log)
    }
    case 'webhook': {
      const secret = c.secret_env ? deps.secrets(c.secret_env) : undefined
      if (c.secret_env && !secret)
        throw invalid(`environment variable ${c.secret_env} is not set; it must hold the HMAC signing secret`)
      if (!secret)
        log.warn({ target: c.name }, 'webhook target has no secret_env: rule pushes are not signed')
      return new WebhookTarget(
        c.name,
        c.url,
        secret,
        { ...http, ...(deps.now ? { now: deps.now } : {}) },
        log,
      )
    }
  }
}
