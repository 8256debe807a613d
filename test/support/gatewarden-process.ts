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
}

/** Spawns `node dist/services/cli.js start` with `env` and waits (bounded) for its "listening" log line. */
export function spawnGatewarden(env: Record<string, string>, timeoutMs = 30_000): Promise<GatewardenProcess> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/services/cli.js'), 'start'], {
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
          resolve({ child, url: `http://127.0.0.1:${rec.port}`, lines })
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
