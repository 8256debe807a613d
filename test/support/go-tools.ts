import { execFileSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from './paths.js'

/** The cache the install scripts build into (their GATEWARDEN_CACHE, default <repo>/.cache). */
const CACHE = process.env.GATEWARDEN_CACHE ?? join(REPO_ROOT, '.cache')

/** Where each tool's install script puts its binary, and the script. */
const TOOLS = {
  'docker-compose': { bin: join(CACHE, 'compose', 'docker-compose'), script: 'scripts/compose/install.sh' },
  promlint: { bin: join(CACHE, 'promlint', 'promlint'), script: 'scripts/promlint/install.sh' },
} as const

/**
 * The path of a Go tool the project builds into .cache (scripts/test-all.sh runs the install scripts).
 * Fails, never skips, when it is not there, naming the script that builds it: these tests are the only
 * check of what they check.
 */
export function goTool(name: keyof typeof TOOLS): string {
  const { bin, script } = TOOLS[name]
  try {
    accessSync(bin, constants.X_OK)
  } catch {
    throw new Error(
      `${name} is not installed at ${bin}: build it with ${script} (scripts/test-all.sh runs it; needs go and the Go module proxy)`,
    )
  }
  return bin
}

/** Runs a tool, returning exit status, stdout and stderr (never throws on a non-zero exit). */
export function runTool(
  bin: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(bin, args, {
      encoding: 'utf8',
      env: opts.env ?? process.env,
      input: opts.input,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    })
    return { status: 0, stdout, stderr: '' }
  } catch (err) {
    const e = err as { status?: number | null; stdout?: string; stderr?: string; message: string }
    if (typeof e.status !== 'number') throw err
    return { status: e.status, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}
