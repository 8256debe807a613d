import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { REPO_ROOT } from './paths.js'

/** A Gatewarden started as a child process (`gatewarden start`), as users run it. */
export interface GatewardenProcess {
  child: ChildProcess
  url: string
  /** Every stdout line so far (JSON logs). */
  lines: string[]
  /** Everything on stderr so far (plain-text start errors, `failpoint crash` lines). */
  stderr(): string
}

/** The `failpoint crash` record a child wrote to stderr just before it killed itself (GATEWARDEN_FAILPOINTS). */
export interface FailpointCrash {
  failpoint: string
  hit: number
  [detail: string]: unknown
}

/** Spawns `node dist/services/cli.js start` with `env` and waits (bounded) for its "listening" log line. */
export function spawnGatewarden(
  env: Record<string, string>,
  timeoutMs = 30_000,
  /** Node's own options before the script (e.g. `--cpu-prof`, which NODE_OPTIONS does not take). */
  nodeArgs: readonly string[] = [],
): Promise<GatewardenProcess> {
  const child = spawn(process.execPath, [...nodeArgs, join(REPO_ROOT, 'dist/services/cli.js'), 'start'], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`gatewarden did not start in ${timeoutMs} ms\n${lines.join('\n')}\n${stderr}`))
    }, timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gatewarden exited with ${code} before listening\n${lines.join('\n')}\n${stderr}`))
    })
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      try {
        const rec = JSON.parse(line) as { msg?: string; port?: number }
        if (rec.msg === 'gatewarden listening' && rec.port) {
          clearTimeout(timer)
          child.removeAllListeners('exit')
          resolve({ child, url: `http://127.0.0.1:${rec.port}`, lines, stderr: () => stderr })
        }
      } catch {
        /* not JSON: ignore */
      }
    })
  })
}

/** Sends SIGKILL and waits for the exit. */
export function killHard(p: GatewardenProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve()
    p.child.once('exit', () => resolve())
    p.child.kill('SIGKILL')
  })
}

/** Sends SIGTERM and waits for the exit code. */
export function stopGracefully(p: GatewardenProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null) return resolve(p.child.exitCode)
    p.child.once('exit', (code) => resolve(code))
    p.child.kill('SIGTERM')
  })
}

/** Waits (bounded) for the child to exit on its own; throws with its last log lines when it does not. */
export function waitForExit(
  p: GatewardenProcess,
  timeoutMs = 60_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null)
      return resolve({ code: p.child.exitCode, signal: p.child.signalCode })
    const timer = setTimeout(() => {
      p.child.off('exit', onExit)
      reject(
        new Error(
          `gatewarden did not exit within ${timeoutMs} ms\n${p.lines.slice(-20).join('\n')}\n${p.stderr()}`,
        ),
      )
    }, timeoutMs)
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer)
      resolve({ code, signal })
    }
    p.child.once('exit', onExit)
  })
}

/**
 * Waits for the child to kill itself at an armed `crash` failpoint: asserts it died of SIGKILL and returns
 * the crash record it wrote to stderr first.
 */
export async function waitForFailpointCrash(
  p: GatewardenProcess,
  timeoutMs = 60_000,
): Promise<FailpointCrash> {
  const exit = await waitForExit(p, timeoutMs)
  const line = p
    .stderr()
    .split('\n')
    .find((l) => l.includes('"msg":"failpoint crash"'))
  if (exit.signal !== 'SIGKILL' || !line)
    throw new Error(
      `expected a failpoint crash (SIGKILL), got exit ${exit.code ?? exit.signal}\n${p.lines.slice(-20).join('\n')}\n${p.stderr()}`,
    )
  return JSON.parse(line) as FailpointCrash
}
