import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from './paths.js'

/** Suffixes the Prometheus exporter adds: counters `_total`, histograms `_bucket`, `_sum`, `_count`. */
const SUFFIX = /_(total|bucket|sum|count)$/

/**
 * Every metric name Gatewarden declares (string literals `gatewarden_…` in adapters/ and services/, the
 * only places instruments are made), as declared, without the exporter's suffixes.
 */
export function declaredMetricNames(): Set<string> {
  const names = new Set<string>()
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f)
      if (statSync(p).isDirectory()) walk(p)
      else if (f.endsWith('.ts') && !f.endsWith('.test.ts'))
        for (const m of readFileSync(p, 'utf8').matchAll(/['"`](gatewarden_[a-z0-9_]+)['"`]/g))
          names.add(m[1]!)
    }
  }
  for (const d of ['adapters', 'services']) walk(join(REPO_ROOT, d))
  return names
}

/** The Gatewarden metric names a PromQL expression reads, and those Gatewarden does not export. */
export function unknownMetrics(expr: string, declared: Set<string>): { used: string[]; unknown: string[] } {
  const used = [...new Set([...expr.matchAll(/\bgatewarden_[a-z0-9_]+/g)].map((m) => m[0]))]
  const unknown = used.filter((n) => !declared.has(n) && !declared.has(n.replace(SUFFIX, '')))
  return { used, unknown }
}
