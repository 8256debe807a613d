import { budgetScopeId } from '../../core/detectors/budget-scope.js'
import type { AlertChange, AlertFilter, AlertStore, StoredAlert } from '../../core/ports/alert-store.js'
import { isAgentEvent, type EventReader, type ReadEventsOptions } from '../../core/ports/event-reader.js'
import type { EventStore } from '../../core/ports/event-store.js'
import type { LeaderElection } from '../../core/ports/leader-election.js'
import type {
  DeliveryRecord,
  NotificationOutbox,
  PendingNotification,
} from '../../core/ports/notification-outbox.js'
import type { ScopeSpend, SpendReader } from '../../core/ports/spend-reader.js'
import type { Notification } from '../../core/alerts/alert.js'
import type { DeadLetter } from '../../schemas/dead-letter.js'
import type { BudgetScope } from '../../schemas/policy.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { Silence } from '../../schemas/silence.js'

/**
 * Failure injection shared by the in-memory ports: `failNext(n)` makes the next n writes throw, and
 * `ambiguous` makes a failing write keep its data (the store took it, the answer was lost).
 */
export class Faults {
  #writes = 0
  ambiguous = false
  readonly calls: string[] = []

  failNext(n = 1): void {
    this.#writes = n
  }

  /** Called by a write before applying it; returns whether to apply, then throw afterwards. */
  write(op: string): { apply: boolean; fail: boolean } {
    this.calls.push(op)
    if (this.#writes <= 0) return { apply: true, fail: false }
    this.#writes--
    return { apply: this.ambiguous, fail: true }
  }
}

const storeDown = (op: string) =>
  Object.assign(new Error(`store unavailable (${op})`), { code: 'ECONNREFUSED' })

/** The AlertStore port in memory: changes appended, insert tokens remembered (a retried token adds nothing). */
export class MemoryAlertStore implements AlertStore {
  readonly changes: AlertChange[] = []
  readonly silences: Array<{ silence: Silence; deleted: boolean; version: number }> = []
  readonly faults = new Faults()
  readonly #tokens = new Set<string>()

  async insertChanges(changes: readonly AlertChange[], token: string): Promise<void> {
    const f = this.faults.write('insertChanges')
    if (f.apply && !this.#tokens.has(token)) {
      this.#tokens.add(token)
      this.changes.push(...structuredClone(changes))
    }
    if (f.fail) throw storeDown('insertChanges')
  }

  async listAlerts(filter: AlertFilter): Promise<StoredAlert[]> {
    const latest = new Map<string, AlertChange>()
    for (const c of this.changes) {
      const prev = latest.get(c.alert.id)
      const newer =
        !prev ||
        c.alert.updated_at > prev.alert.updated_at ||
        (c.alert.updated_at === prev.alert.updated_at && c.alert.state === 'resolved')
      if (newer) latest.set(c.alert.id, c)
    }
    return [...latest.values()]
      .filter(
        (c) =>
          (!filter.state || c.alert.state === filter.state) &&
          (!filter.type || c.alert.type === filter.type) &&
          (!filter.dedupeKey || c.alert.dedupe_key === filter.dedupeKey) &&
          c.alert.started_at >= (filter.since ?? 0),
      )
      .sort((a, b) => b.alert.started_at - a.alert.started_at || a.alert.id.localeCompare(b.alert.id))
      .slice(0, filter.limit)
      .map((c) => ({ ...structuredClone(c.alert), silenced: c.silenced }))
  }

  async listSilences(now: number, includeExpired = false): Promise<Silence[]> {
    const latest = new Map<string, { silence: Silence; deleted: boolean; version: number }>()
    for (const s of this.silences) {
      const prev = latest.get(s.silence.id)
      if (!prev || s.version >= prev.version) latest.set(s.silence.id, s)
    }
    return [...latest.values()]
      .filter((s) => !s.deleted && (includeExpired || s.silence.expires_at > now))
      .map((s) => s.silence)
      .sort((a, b) => b.created_at - a.created_at)
  }

  async upsertSilence(silence: Silence, deleted: boolean, version: number): Promise<void> {
    const f = this.faults.write('upsertSilence')
    if (f.apply) this.silences.push({ silence, deleted, version })
    if (f.fail) throw storeDown('upsertSilence')
  }
}

/** The NotificationOutbox port in memory. */
export class MemoryOutbox implements NotificationOutbox {
  readonly notifications: Array<{ notification: Notification; notBefore: number }> = []
  readonly deliveries: DeliveryRecord[] = []
  /** Faults of `insertNotifications`. */
  readonly faults = new Faults()
  /** Faults of `recordDelivery`. */
  readonly deliveryFaults = new Faults()
  readonly #tokens = new Set<string>()

  async insertNotifications(
    items: ReadonlyArray<{ notification: Notification; notBefore: number }>,
    token: string,
  ): Promise<void> {
    const f = this.faults.write('insertNotifications')
    if (f.apply && !this.#tokens.has(token)) {
      this.#tokens.add(token)
      this.notifications.push(...structuredClone(items))
    }
    if (f.fail) throw storeDown('insertNotifications')
  }

  async recordDelivery(record: DeliveryRecord): Promise<void> {
    const f = this.deliveryFaults.write(`recordDelivery:${record.outcome}`)
    const key = (d: DeliveryRecord) => `${d.notificationId}|${d.attempt}|${d.outcome}`
    if (f.apply && !this.deliveries.some((d) => key(d) === key(record))) this.deliveries.push(record)
    if (f.fail) throw storeDown('recordDelivery')
  }

  async pending(now: number, lookbackMs: number): Promise<PendingNotification[]> {
    const final = new Set(this.deliveries.filter((d) => d.outcome !== 'retry').map((d) => d.notificationId))
    return this.notifications
      .filter((n) => n.notification.created_at >= now - lookbackMs && !final.has(n.notification.id))
      .map((n) => ({
        ...structuredClone(n),
        attempts: this.deliveries.filter((d) => d.notificationId === n.notification.id).length,
      }))
  }
}

/** The EventReader port over an array (sorted like the store: ts, then event_id). */
export class MemoryEventReader implements EventReader {
  constructor(readonly events: RequestEvent[] = []) {}

  async *readEvents(
    fromTs: number,
    toTs: number,
    pageSize = 10_000,
    opts: ReadEventsOptions = {},
  ): AsyncIterable<RequestEvent[]> {
    const agents = opts.onlyAgents
    let sorted = this.events
      .filter((e) => e.ts >= fromTs && e.ts < toTs && (!agents || isAgentEvent(e, agents.agentKeys)))
      .sort((a, b) => a.ts - b.ts || a.event_id.localeCompare(b.event_id))
    if (opts.newest !== undefined) sorted = sorted.slice(Math.max(0, sorted.length - opts.newest))
    if (opts.columns === 'detection')
      sorted = sorted.map((e) => ({ ...e, request_text: '', response_text: '' }))
    for (let i = 0; i < sorted.length; i += pageSize) yield sorted.slice(i, i + pageSize)
  }

  countEvents(fromTs: number, toTs: number): Promise<number> {
    return Promise.resolve(this.events.filter((e) => e.ts >= fromTs && e.ts < toTs).length)
  }
}

/**
 * The SpendReader port computed from events, exactly as the store's rollup answers it with ticks on
 * whole minutes: `[at - w, at)` and `[periodStart, at)` sums per scope, a zero row for a fixed or global
 * scope without spend. `events` is shared: push to it as the writer would store.
 */
export class MemorySpendReader implements SpendReader {
  failReads = 0

  constructor(readonly events: RequestEvent[] = []) {}

  async budgetSpend(
    scope: BudgetScope,
    at: number,
    periodStart: number,
    windowsMs: readonly number[],
  ): Promise<ScopeSpend[]> {
    if (this.failReads > 0) {
      this.failReads--
      throw storeDown('budgetSpend')
    }
    const since = Math.min(periodStart, ...windowsMs.map((w) => at - w))
    const rows = new Map<string, ScopeSpend>()
    for (const e of this.events) {
      if (e.ts < since || e.ts >= at) continue
      const id = budgetScopeId({ scope }, e)
      if (id === null) continue
      let r = rows.get(id)
      if (!r) {
        r = { scopeId: id, periodSpend: 0, windowSpend: Object.fromEntries(windowsMs.map((w) => [w, 0])) }
        rows.set(id, r)
      }
      if (e.ts >= periodStart) r.periodSpend += e.cost_usd
      for (const w of windowsMs) if (e.ts >= at - w) r.windowSpend[w]! += e.cost_usd
    }
    const [kind, value] = Object.entries(scope)[0] ?? ['global', '']
    if (rows.size === 0 && value !== '*' && kind !== 'tier') {
      const id = kind === 'global' ? '' : String(value)
      rows.set(id, {
        scopeId: id,
        periodSpend: 0,
        windowSpend: Object.fromEntries(windowsMs.map((w) => [w, 0])),
      })
    }
    return [...rows.values()]
  }
}

/** The LeaderElection port with the leader set by the test (`leader`); '' = the smallest caller wins. */
export class MemoryElection implements LeaderElection {
  leader = ''
  failNext = 0
  readonly beats: Array<{ instance: string; at: number }> = []

  async beatAndElect(instance: string, now: number, withinMs: number): Promise<string> {
    if (this.failNext > 0) {
      this.failNext--
      throw storeDown('beatAndElect')
    }
    this.beats.push({ instance, at: now })
    if (this.leader !== '') return this.leader
    const live = this.beats.filter((b) => b.at >= now - withinMs).map((b) => b.instance)
    return live.sort()[0] ?? instance
  }
}

/** The EventStore port in memory: rows kept per insert token (a retried token adds nothing). */
export class MemoryEventStore implements EventStore {
  readonly requests: RequestEvent[] = []
  readonly deadLetters: DeadLetter[] = []
  readonly faults = new Faults()
  readonly #tokens = new Set<string>()

  async existingEventIds(ids: readonly string[], minTs: number, maxTs: number): Promise<Set<string>> {
    const want = new Set(ids)
    return new Set(
      this.requests
        .filter((e) => want.has(e.event_id) && e.ts >= minTs && e.ts <= maxTs)
        .map((e) => e.event_id),
    )
  }

  async insertRequests(rows: readonly RequestEvent[], token: string): Promise<void> {
    const f = this.faults.write('insertRequests')
    if (f.apply && !this.#tokens.has(token)) {
      this.#tokens.add(token)
      this.requests.push(...rows)
    }
    if (f.fail) throw storeDown('insertRequests')
  }

  async insertDeadLetters(rows: readonly DeadLetter[], token: string): Promise<void> {
    const f = this.faults.write('insertDeadLetters')
    if (f.apply && !this.#tokens.has(token)) {
      this.#tokens.add(token)
      this.deadLetters.push(...rows)
    }
    if (f.fail) throw storeDown('insertDeadLetters')
  }

  async ping(): Promise<boolean> {
    return true
  }
}
