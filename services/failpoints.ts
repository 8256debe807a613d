import { writeSync } from 'node:fs'
import type { Logger } from 'pino'
import { GatewardenError } from '../core/errors.js'
import {
  createFailpoints,
  NO_FAILPOINTS,
  parseFailpoints,
  type FailPlan,
  type Failpoints,
} from '../core/failpoints.js'

/** The environment variable that arms failpoints (fault tests only). */
export const FAILPOINTS_ENV = 'GATEWARDEN_FAILPOINTS'

/**
 * Reads `GATEWARDEN_FAILPOINTS` once; an empty plan when unset.
 * Throws GW_CONFIG_INVALID naming the variable and the bad entry.
 */
export function failpointsFromEnv(env: NodeJS.ProcessEnv): FailPlan {
  const spec = env[FAILPOINTS_ENV]
  if (!spec) return new Map()
  const parsed = parseFailpoints(spec)
  if (!parsed.ok) throw new GatewardenError('GW_CONFIG_INVALID', `${FAILPOINTS_ENV}: ${parsed.reason}`, false)
  return parsed.plan
}

/**
 * The registry acting on this process: `crash` is a real kill -9 of itself. Its line goes to stderr with a
 * synchronous write first (pino's stdout writes are asynchronous and would die with the process).
 */
export function processFailpoints(plan: FailPlan, log: Logger): Failpoints {
  if (plan.size === 0) return NO_FAILPOINTS
  const armed = Object.fromEntries(plan)
  log.warn({ failpoints: armed }, 'failpoints armed')
  return createFailpoints(plan, {
    crash: () => process.kill(process.pid, 'SIGKILL'),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    fired: (failpoint, action, hit, detail) => {
      const rec = { failpoint, action: action.kind, hit, ...detail }
      if (action.kind === 'crash')
        writeSync(2, `${JSON.stringify({ level: 60, ...rec, msg: 'failpoint crash' })}\n`)
      else log.warn(rec, 'failpoint fired')
    },
  })
}
