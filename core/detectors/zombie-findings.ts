import type { Finding } from './finding.js'
import { coefficientOfVariation, median } from './cadence.js'
import { instant, iso, round, span, usd } from './wording.js'

/** Off-hours work of one agent within one off-hours stretch. */
export interface OffHours {
  start: number
  end: number
  requests: number
  spend: number
  first: number
  last: number
  firedAt: number | null
}

/** One session (or trace) of an agent. */
export interface SessionEntry {
  kind: 'session' | 'trace'
  id: string
  agent: string
  first: number
  last: number
  count: number
  spend: number
  gaps: number[]
  firedAt: number | null
}

const perMin = (n: number, from: number, to: number): number | null =>
  to > from ? round((n - 1) / ((to - from) / 60_000), 2) : null

/** Finding (a): an agent at work outside business hours. */
export function offHoursFinding(
  key: string,
  agent: string,
  off: OffHours,
  gaps: readonly number[],
  timezone: string,
  state: 'firing' | 'resolved',
  at: number,
): Finding {
  const rate = perMin(off.requests, off.first, off.last)
  const med = median(gaps)
  const cadence = `${rate === null ? '?' : rate} req/min, median gap ${span(med)}`
  const summary =
    state === 'firing'
      ? `zombie agent ${agent} works off-hours: ${off.requests} requests (${usd(round(off.spend, 4))}) since ${instant(off.first, timezone)}, outside business hours until ${instant(off.end, timezone)}; cadence ${cadence}`
      : `agent ${agent} off-hours stretch over: ${off.requests} requests, ${usd(round(off.spend, 4))} from ${instant(off.first, timezone)} to ${instant(off.last, timezone)}`
  return {
    type: 'zombie_agent',
    dedupe_key: key,
    state,
    severity: 'ticket',
    scope: { kind: 'agent', id: agent },
    at,
    summary,
    details: {
      which: 'off_hours',
      agent,
      requests: off.requests,
      spend_usd: round(off.spend),
      first: iso(off.first),
      last: iso(off.last),
      stretch_start: iso(off.start),
      stretch_end: iso(off.end),
      timezone,
      requests_per_min: rate,
      median_gap_s: round(med / 1000, 1),
    },
  }
}

/** Finding (b): a session kept alive too long with a steady (machine) cadence. */
export function sessionFinding(
  key: string,
  s: SessionEntry,
  state: 'firing' | 'resolved',
  at: number,
): Finding {
  const rate = perMin(s.count, s.first, s.last)
  const med = median(s.gaps)
  const cv = coefficientOfVariation(s.gaps)
  const alive = span(s.last - s.first)
  const summary =
    state === 'firing'
      ? `zombie agent ${s.agent} keeps ${s.kind} ${s.id} alive for ${alive} at a steady cadence: ${s.count} requests, ${rate ?? '?'} req/min, median gap ${span(med)} (CV ${round(cv, 2)}), ${usd(round(s.spend, 4))}`
      : `${s.kind} ${s.id} of agent ${s.agent} went quiet after ${alive}: ${s.count} requests, ${usd(round(s.spend, 4))}`
  return {
    type: 'zombie_agent',
    dedupe_key: key,
    state,
    severity: 'ticket',
    scope: { kind: s.kind, id: s.id },
    at,
    summary,
    details: {
      which: 'long_session',
      agent: s.agent,
      started: iso(s.first),
      last: iso(s.last),
      alive_h: round((s.last - s.first) / 3_600_000, 2),
      requests: s.count,
      spend_usd: round(s.spend),
      requests_per_min: rate,
      median_gap_s: round(med / 1000, 1),
      gap_cv: Number.isFinite(cv) ? round(cv, 3) : null,
    },
  }
}

/** Finding (c): an agent back after a long silence. */
export function dormantFinding(
  key: string,
  agent: string,
  lastSeen: number,
  back: number,
  state: 'firing' | 'resolved',
  at: number,
): Finding {
  const silent = back - lastSeen
  const summary =
    state === 'firing'
      ? `dormant agent ${agent} is back after ${span(silent)} of silence (last seen ${iso(lastSeen)})`
      : `agent ${agent} return after ${span(silent)} of silence acknowledged`
  return {
    type: 'zombie_agent',
    dedupe_key: key,
    state,
    severity: 'ticket',
    scope: { kind: 'agent', id: agent },
    at,
    summary,
    details: {
      which: 'dormant_return',
      agent,
      last_seen: iso(lastSeen),
      returned_at: iso(back),
      silent_days: round(silent / 86_400_000, 2),
    },
  }
}
