/**
 * `npm run bench -- --profile`: the Gatewarden child of the HTTP and Kafka parts runs under V8's sampling
 * profiler (`--cpu-prof`, one `.cpuprofile` per thread: the event loop and each parse worker), is stopped
 * gracefully so the profiles are written, and each profile is summed here into one line of its busiest
 * functions by self time. The files stay next to the results (`bench/results/profiles/<run>/<part>/`) to
 * open in Chrome DevTools or speedscope. Profiling slows the run: its figures are not comparable with an
 * unprofiled run's.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The parts of a `.cpuprofile` (Chrome DevTools Protocol `Profiler.Profile`) read here. */
interface CpuProfile {
  nodes: Array<{
    id: number
    callFrame: { functionName: string; url: string; lineNumber: number }
  }>
  samples: number[]
  timeDeltas: number[]
}

/** Self time of one function in one profile. */
export interface HotFunction {
  /** `name file:line` (file as its last two path parts), or V8's `(garbage collector)`, `(idle)`, ... */
  name: string
  ms: number
  /** Share of the profile's busy time (everything but `(idle)`). */
  share: number
}

/** A profile's busy and idle time and its functions by self time, most first. */
export function summarizeProfile(profile: CpuProfile): {
  busyMs: number
  idleMs: number
  top: HotFunction[]
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const f = byId.get(profile.samples[i]!)?.callFrame
    if (!f) continue
    const file = f.url.split('/').slice(-2).join('/')
    const name =
      file === '' ? f.functionName : `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  }
  const idleMs = self.get('(idle)') ?? 0
  self.delete('(idle)')
  const busyMs = [...self.values()].reduce((a, b) => a + b, 0)
  const top = [...self]
    .map(([name, ms]) => ({ name, ms, share: busyMs > 0 ? ms / busyMs : 0 }))
    .sort((a, b) => b.ms - a.ms)
  return { busyMs, idleMs, top }
}

/** One line per profile in `dir`: the thread, busy and idle seconds, and its `n` busiest functions. */
export function profileLines(dir: string, n = 12): string[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
  return files.map((f) => {
    const s = summarizeProfile(JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile)
    // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the event loop
    const thread = f.split('.')[4] === '0' ? 'main thread' : `worker thread ${f.split('.')[4]}`
    const hot = s.top
      .slice(0, n)
      .map((h) => `${h.name} ${h.ms.toFixed(0)} ms (${(h.share * 100).toFixed(1)}%)`)
      .join('; ')
    return `profile ${thread} (${f}): busy ${(s.busyMs / 1000).toFixed(2)} s, idle ${(s.idleMs / 1000).toFixed(2)} s; by self time: ${hot}`
  })
}

/** Node's options that make a child write its profiles to `dir` when it exits (NODE_OPTIONS refuses them). */
export function profileArgs(dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []
}
