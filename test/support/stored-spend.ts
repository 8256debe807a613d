import { budgetScopeId, budgetScopeKind } from '../../core/detectors/budget-scope.js'
import type { Finding } from '../../core/detectors/finding.js'
import type { DetectorRunner } from '../../core/detectors/runner.js'
import {
  storedSpendHistoryFrom,
  storedSpendRead,
  type SpendAnomalyConfig,
} from '../../core/detectors/spend-anomaly.js'
import type { HourlySpendReader, ScopeSpendHistory } from '../../core/ports/hourly-spend-reader.js'
import type { MinuteSpendReader, ScopeMinuteSpend } from '../../core/ports/minute-spend-reader.js'
import type { BudgetScope } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'

const HOUR = 3_600_000

/**
 * What `HourlySpendReader.spendHistory` must answer, computed from the stored events themselves: the
 * oracle the ClickHouse adapter is checked against, and the store of the core's store-mode tests.
 */
export function spendHistoryOf(
  events: Iterable<RequestEvent>,
  scope: BudgetScope,
  fromHour: number,
  toHour: number,
  hours: readonly number[],
): ScopeSpendHistory[] {
  const kind = budgetScopeKind({ scope })
  const wanted = new Set(hours)
  const out = new Map<string, { first: number; spend: Map<number, number> }>()
  for (const e of events) {
    const id = budgetScopeId({ scope }, e)
    const h = Math.floor(e.ts / HOUR)
    if (id === null || h < fromHour || h >= toHour) continue
    let s = out.get(id)
    if (!s) out.set(id, (s = { first: h, spend: new Map() }))
    s.first = Math.min(s.first, h)
    if (wanted.has(h)) s.spend.set(h, (s.spend.get(h) ?? 0) + e.cost_usd)
  }
  return [...out].map(([id, s]) => {
    const hs = [...s.spend.keys()].sort((a, b) => a - b)
    return { kind, id, first: s.first, hours: hs, costs: hs.map((h) => s.spend.get(h)!) }
  })
}

/** An `HourlySpendReader` on an array of stored events (counts its reads). */
export class MemoryHourlySpend implements HourlySpendReader {
  reads = 0
  constructor(readonly events: RequestEvent[]) {}
  async spendHistory(
    scope: BudgetScope,
    fromHour: number,
    toHour: number,
    hours: readonly number[],
  ): Promise<ScopeSpendHistory[]> {
    this.reads++
    return spendHistoryOf(this.events, scope, fromHour, toHour, hours)
  }
}

const MINUTE = 60_000

/**
 * What `MinuteSpendReader.minuteSpend` must answer, from the stored events themselves: the oracle of the
 * ClickHouse adapter, and the store of the core's restart tests. Sums in event order (as a replay adds).
 */
export function minuteSpendOf(
  events: Iterable<RequestEvent>,
  scope: BudgetScope,
  fromMinute: number,
  toMinute: number,
): ScopeMinuteSpend[] {
  const kind = budgetScopeKind({ scope })
  const out = new Map<string, Map<number, { cost: number; requests: number }>>()
  for (const e of events) {
    const id = budgetScopeId({ scope }, e)
    const m = Math.floor(e.ts / MINUTE)
    if (id === null || m < fromMinute || m >= toMinute) continue
    let s = out.get(id)
    if (!s) out.set(id, (s = new Map()))
    const b = s.get(m) ?? { cost: 0, requests: 0 }
    b.cost += e.cost_usd
    b.requests++
    s.set(m, b)
  }
  return [...out].map(([id, s]) => {
    const ms = [...s.keys()].sort((a, b) => a - b)
    return {
      kind,
      id,
      minutes: ms,
      costs: ms.map((m) => s.get(m)!.cost),
      requests: ms.map((m) => s.get(m)!.requests),
    }
  })
}

/** A `MinuteSpendReader` on an array of stored events (counts its reads). */
export class MemoryMinuteSpend implements MinuteSpendReader {
  reads = 0
  constructor(readonly events: RequestEvent[]) {}
  async minuteSpend(scope: BudgetScope, fromMinute: number, toMinute: number): Promise<ScopeMinuteSpend[]> {
    this.reads++
    return minuteSpendOf(this.events, scope, fromMinute, toMinute)
  }
}

/** The history the engine hands over for epoch hour `hour`, from `stored` (every configured scope). */
function historyAt(stored: readonly RequestEvent[], cfg: SpendAnomalyConfig, hour: number) {
  const { fromHour, toHour, hours } = storedSpendRead(cfg, hour)
  return storedSpendHistoryFrom(
    hour,
    cfg.scopes.flatMap((scope) => spendHistoryOf(stored, scope, fromHour, toHour, hours)),
  )
}

/**
 * Feeds `events` (time-ordered) to a runner restored with `spendHistoryFromStore`, handing over the
 * store's history at each hour as the engine does, then ticks until `until`. The store holds `stored` plus
 * every event fed so far. With `allowed_lateness` 0 the ticks of an hour all run before its history
 * changes, so the findings equal an in-memory run's.
 */
export function runFromStore(
  runner: DetectorRunner,
  cfg: SpendAnomalyConfig,
  stored: readonly RequestEvent[],
  events: readonly RequestEvent[],
  until: number,
): Finding[] {
  const store = [...stored]
  const out: Finding[] = []
  const handOver = (t: number) => {
    const h = runner.spendHistoryWanted(t)
    if (h !== null) runner.setSpendHistory(historyAt(store, cfg, h))
  }
  const start = events[0]?.ts ?? until
  let lastHour = Math.floor(start / HOUR) * HOUR
  handOver(start)
  const toHour = (t: number) => {
    // the ticks before the hour starts, with the history of their own hour
    for (let h = lastHour + HOUR; h <= t; h += HOUR) {
      out.push(...runner.tickUntil(h - 1))
      handOver(h)
      lastHour = h
    }
  }
  for (const e of events) {
    toHour(e.ts)
    out.push(...runner.push(e))
    store.push(e)
  }
  toHour(until)
  out.push(...runner.tickUntil(until))
  return out
}
