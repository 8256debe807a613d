import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { REPO_ROOT } from './paths.js'

/**
 * The python of the LiteLLM venv (scripts/litellm/setup.sh installs it, cached; its last line is
 * `LITELLM_PYTHON=<path>`). Fails, never skips: the python tests are about the real LiteLLM.
 */
export function litellmPython(): string {
  const out = execFileSync(join(REPO_ROOT, 'scripts/litellm/setup.sh'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 600_000,
  })
  const py = /LITELLM_PYTHON=(\S+)\s*$/.exec(out)?.[1]
  if (!py) throw new Error(`scripts/litellm/setup.sh printed no LITELLM_PYTHON:\n${out}`)
  return py
}
