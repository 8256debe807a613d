import type { Alert } from '../../core/alerts/alert.js'
import type { EnforcementReport } from '../../core/rules/simulate.js'
import type { DetectorType, Finding } from '../../core/detectors/finding.js'
import type { InvalidItem } from './file-source.js'

const TYPES: readonly DetectorType[] = [
  'burn_rate',
  'budget_exhaustion',
  'loop',
  'zombie_agent',
  'spend_anomaly',
]

/** Where the replayed events came from. */
export type ReplaySource =
  | { kind: 'file'; path: string; format: 'ndjson' | 'json' }
  | {
      kind: 'store'
      location: string
      database: string
      from: string
      to: string
      warmup_from: string | null
    }

/** What `gatewarden replay --json` prints: one object, findings in the order they would have fired. */
export interface ReplayReport {
  source: ReplaySource
  stats: {
    /** Events the detectors judged in the reported range. */
    events: number
    /** Events read before the range only to rebuild state (store replay warm-up). */
    warmup_events: number
    /** Items of the file that did not map to an event (bad JSON, rejected payload). */
    invalid: number
    /** Repeated event ids skipped (counted once, as the store does). */
    duplicates: number
    /** Events that reached the detectors behind their clock (more than `allowed_lateness` out of order). */
    late: number
    first_event_at: string | null
    last_event_at: string | null
    /**
     * Alerts live would have opened: one per incident, after each detector's `resolve_after` hold (a
     * re-fire within it reopens the same alert), the same alert book as the live engine.
     */
    alerts: number
    /** Of those, alerts still open after the last event (or at `--to`), clearing ones included. */
    alerts_firing: number
    /** Raw detector findings (firing and resolved verdicts, before the hold). */
    findings: number
    /** Distinct dedupe keys among the findings. */
    incidents: number
    /** Dedupe keys whose last finding is firing. */
    still_firing: number
    by_type: Record<DetectorType, { alerts: number; firing: number; resolved: number; incidents: number }>
    duration_ms: number
  }
  /** The first invalid items with their reason (all are counted in `stats.invalid`). */
  invalid: InvalidItem[]
  findings: Array<Finding & { time: string }>
  /** The alerts live would have opened, each in its last state, in the order they opened. */
  alerts: Array<Alert & { started: string; resolved: string | null }>
  /** `--enforce`: the guardrail rules the findings would have made and the spend they would have saved. */
  enforcement?: EnforcementReport
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/** Builds the report from the findings and counters of a replay. */
export function buildReport(input: {
  source: ReplaySource
  findings: readonly Finding[]
  /** The alert changes of the replay (`ReplayRun.alerts`), in order. */
  alertChanges: readonly Alert[]
  events: number
  warmupEvents: number
  invalid: number
  invalidSamples: InvalidItem[]
  duplicates: number
  late: number
  firstTs: number | null
  lastTs: number | null
  durationMs: number
}): ReplayReport {
  const byType = Object.fromEntries(
    TYPES.map((t) => [t, { alerts: 0, firing: 0, resolved: 0, incidents: 0 }]),
  ) as ReplayReport['stats']['by_type']
  const last = new Map<string, Finding>()
  for (const f of input.findings) {
    byType[f.type][f.state]++
    if (!last.has(f.dedupe_key)) byType[f.type].incidents++
    last.set(f.dedupe_key, f)
  }
  const alerts = new Map<string, Alert>()
  for (const a of input.alertChanges) {
    if (!alerts.has(a.id)) byType[a.type].alerts++
    alerts.set(a.id, a)
  }
  return {
    source: input.source,
    stats: {
      events: input.events,
      warmup_events: input.warmupEvents,
      invalid: input.invalid,
      duplicates: input.duplicates,
      late: input.late,
      first_event_at: iso(input.firstTs),
      last_event_at: iso(input.lastTs),
      alerts: alerts.size,
      alerts_firing: [...alerts.values()].filter((a) => a.state === 'firing').length,
      findings: input.findings.length,
      incidents: last.size,
      still_firing: [...last.values()].filter((f) => f.state === 'firing').length,
      by_type: byType,
      duration_ms: Math.round(input.durationMs),
    },
    invalid: input.invalidSamples,
    findings: input.findings.map((f) => ({ ...f, time: new Date(f.at).toISOString() })),
    alerts: [...alerts.values()].map((a) => ({
      ...a,
      started: new Date(a.started_at).toISOString(),
      resolved: iso(a.resolved_at),
    })),
  }
}

/** `2026-03-03 09:30:04.250` (UTC). */
const when = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
const scopeText = (f: Finding): string =>
  f.scope.kind === 'global' ? 'global' : `${f.scope.kind}:${f.scope.id}`
const n = (x: number): string => x.toLocaleString('en-US')

/** A plain-text table: columns padded to their widest cell, the last one left free. */
function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(head), ...rows.map(line)]
}

function sourceLine(s: ReplaySource): string {
  if (s.kind === 'file') return `Replay of ${s.path} (${s.format === 'json' ? 'JSON array' : 'NDJSON'})`
  const warm = s.warmup_from ? `; state warmed up from ${s.warmup_from}` : ''
  return `Replay of ${s.database}.requests in ${s.location}, [${s.from}, ${s.to})${warm}`
}

const usd = (x: number): string => `$${x.toFixed(x >= 100 ? 2 : 4)}`
const hours = (ms: number): string =>
  ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)} h` : `${Math.round(ms / 60_000)} min`

/** The `--enforce` section: each rule, how long it held, what it caught and saved. */
function enforcementLines(e: EnforcementReport): string[] {
  const out = ['', 'Guardrail rules (replay --enforce: what enforcement would have done)']
  if (e.rules.length === 0) return [...out, '  No rule would have been made.']
  out.push(
    ...table(
      ['CREATED (UTC)', 'SCOPE', 'ACTION', 'HELD', 'ENDED BY', 'CALLS', 'SPEND', 'SAVED', 'REASON'],
      e.rules.map((s) => [
        when(s.rule.created_at),
        `${s.rule.scope.kind}:${s.rule.scope.id}`,
        s.rule.action.action === 'block'
          ? 'block'
          : `downgrade ${Object.entries(s.rule.action.map)
              .map(([a, b]) => `${a}->${b}`)
              .join(',')}`,
        hours(s.held_ms),
        s.rule.ended_by ?? 'still in force',
        n(s.calls),
        usd(s.spend_usd),
        usd(s.saved_usd),
        s.rule.reason.kind === 'alert' ? s.rule.reason.summary : s.rule.reason.why,
      ]),
    ),
  )
  const t = e.totals
  out.push(
    `  ${n(t.rules)} rules would have caught ${n(t.calls)} calls costing ${usd(t.spend_usd)} and saved ${usd(t.saved_usd)}` +
      (t.skipped > 0 ? ` (${n(t.skipped)} alerts asked for an action that could not be enforced)` : ''),
  )
  return out
}

/** The human report: what would have fired and when, then the summary. */
export function formatReport(r: ReplayReport): string {
  const s = r.stats
  const out: string[] = [sourceLine(r.source), '']
  if (r.findings.length === 0) out.push('Nothing would have fired.')
  else
    out.push(
      ...table(
        ['TIME (UTC)', 'TYPE', 'SEVERITY', 'STATE', 'SCOPE', 'SUMMARY'],
        r.findings.map((f) => [when(f.at), f.type, f.severity, f.state, scopeText(f), f.summary]),
      ),
    )
  out.push('', 'Summary')
  const span = s.first_event_at ? ` (${s.first_event_at} .. ${s.last_event_at})` : ''
  out.push(`  events read     ${n(s.events)}${span}`)
  if (r.source.kind === 'store')
    out.push(`  warm-up events  ${n(s.warmup_events)} (before --from, state only)`)
  if (r.source.kind === 'file') {
    out.push(`  invalid         ${n(s.invalid)}`)
    for (const i of r.invalid.slice(0, 10))
      out.push(`    line ${i.line}${i.item === undefined ? '' : ` item ${i.item}`}: ${i.reason}`)
    if (s.invalid > 10) out.push(`    ... ${n(s.invalid - 10)} more (--json lists up to ${r.invalid.length})`)
    out.push(`  duplicates      ${n(s.duplicates)} (same event id, counted once)`)
  }
  if (s.late > 0) out.push(`  late events     ${n(s.late)} (beyond allowed_lateness: counted, never fire)`)
  out.push(
    `  alerts          ${n(s.alerts)} (one per incident, after resolve_after), ${n(s.alerts_firing)} still firing at the end`,
  )
  out.push(
    `  findings        ${n(s.findings)} raw detector verdicts on ${n(s.incidents)} dedupe keys, ${n(s.still_firing)} last firing`,
  )
  for (const t of TYPES) {
    const b = s.by_type[t]
    out.push(
      `    ${t.padEnd(18)}${n(b.alerts)} alerts; findings: ${n(b.firing)} firing, ${n(b.resolved)} resolved`,
    )
  }
  out.push(`  took            ${(s.duration_ms / 1000).toFixed(1)} s`)
  if (r.enforcement) out.push(...enforcementLines(r.enforcement))
  return `${out.join('\n')}\n`
}
