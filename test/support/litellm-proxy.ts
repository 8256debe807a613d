import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from './paths.js'

/** The real LiteLLM proxy (scripts/litellm), started for a test. */
export interface LiteLLMProxy {
  url: string
  masterKey: string
  workdir: string
  stop(): void
}

/**
 * Installs (cached) and starts the real LiteLLM proxy, its callbacks pointed at `gatewardenUrl`.
 * Fails (never skips) when it cannot start: the test is about the real proxy.
 */
export function startLiteLLM(gatewardenUrl: string, env: Record<string, string> = {}): LiteLLMProxy {
  execFileSync(join(REPO_ROOT, 'scripts/litellm/setup.sh'), {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 600_000,
  })
  const workdir = mkdtempSync(join(tmpdir(), 'gw-litellm-'))
  const out = execFileSync(join(REPO_ROOT, 'scripts/litellm/start.sh'), [workdir, gatewardenUrl], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 180_000,
  })
  const url = /LITELLM_URL=(\S+)\s*$/.exec(out)?.[1]
  if (!url) throw new Error(`litellm start.sh printed no URL:\n${out}`)
  return {
    url,
    masterKey: env.LITELLM_MASTER_KEY ?? 'sk-test-master',
    workdir,
    stop: () =>
      execFileSync(join(REPO_ROOT, 'scripts/litellm/stop.sh'), [workdir], {
        stdio: 'ignore',
        timeout: 60_000,
      }),
  }
}
