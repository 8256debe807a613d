import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { alertId, applyFindings, type AlertBook } from '../../core/alerts/alert-book.js'
import type { Alert } from '../../core/alerts/alert.js'
import { DEFAULT_RESOLVE_AFTER } from '../../core/alerts/resolve-after.js'
import { silencedBy } from '../../core/alerts/silences.js'
import type { DetectorType, Finding } from '../../core/detectors/finding.js'
import type { AlertChange, AlertStore } from '../../core/ports/alert-store.js'
import type { AlertsConfig } from '../../schemas/policy.js'
import type { Silence } from '../../schemas/silence.js'

/** Where stored, unsilenced alert changes go next (the dispatcher). */
export interface AlertHandOff {
  plan(alerts: readonly Alert[], now: number): Promise<void>
}

export interface AlertRecorderDeps {
  store: AlertStore
  alerts: AlertsConfig
  /** Hysteresis: how long (ms) an alert of each detector must stay clear before it resolves. */
  resolveAfter?: (type: DetectorType) => number
  handOff: AlertHandOff
  log: Logger
  /** This process's name in the alert rows. */
  instance: string
  /**
   * Called with every stored alert change (silenced ones too: a silence mutes notifications, not the
   * guardrail), in order, after the store has them. The enforcer turns them into gateway rules.
   */
  onAlertChanges?: (alerts: readonly Alert[], now: number) => Promise<void>
  newToken?: () => string
}

interface Unsaved {
  changes: AlertChange[]
  token: string
  now: number
}

/**
 * The batches not tried yet (`tail`) as one: the latest change of each alert (in the order of those last
 * changes); of the alerts of one dedupe key, only the newest is kept, plus any whose earlier state the
 * store may have (`keep`: stored, or in the batch being retried), so its resolution still reaches it.
 * At most two changes per dedupe key are left.
 */
export function coalesceUnsaved(tail: readonly Unsaved[], keep: (alertId: string) => boolean): AlertChange[] {
  const latest = new Map<string, AlertChange>()
  for (const batch of tail)
    for (const c of batch.changes) {
      latest.delete(c.alert.id)
      latest.set(c.alert.id, c)
    }
  const newest = new Map<string, string>()
  for (const c of latest.values()) newest.set(c.alert.dedupe_key, c.alert.id)
  return [...latest.values()].filter((c) => newest.get(c.alert.dedupe_key) === c.alert.id || keep(c.alert.id))
}

const isBudgetAlert = (a: Alert) => a.type === 'burn_rate' || a.type === 'budget_exhaustion'

/**
 * The alert book (open alerts by dedupe key), the store, and the hand-off, in that order.
 *
 * Invariants:
 * - a change reaches `onAlertChanges` and the dispatcher only after the store has it, and changes are
 *   handed on in the order they were found;
 * - a change the store refused is neither lost nor stored twice: it waits, with its insert token, and is
 *   written again (same token) before any later change, on the next `record` or `retryUnsaved`;
 * - silences are judged when a change is found (`silenced` is stored with it);
 * - hysteresis is here, for every detector: a resolution waits until the condition has been clear for
 *   `resolveAfter(type)`; a re-fire before that reopens the same alert (nothing stored, nothing sent).
 */
export class AlertRecorder {
  #book: AlertBook = { open: {} }
  /** Open alerts as the store has them (by id): what others may act on (persist before memory). */
  #stored = new Map<string, Alert>()
  #silences: Silence[] = []
  readonly #unsaved: Unsaved[] = []
  #coalesced = 0

  constructor(private readonly deps: AlertRecorderDeps) {}

  /** Loads the firing alerts and the silences from the store; returns the open dedupe keys. */
  async restore(now: number): Promise<Set<string>> {
    const open = await this.deps.store.listAlerts({ state: 'firing', limit: 100_000 })
    this.#book = { open: Object.fromEntries(open.map((a) => [a.dedupe_key, a])) }
    this.#stored = new Map(open.map((a) => [a.id, a]))
    this.#silences = await this.deps.store.listSilences(now)
    return new Set(Object.keys(this.#book.open))
  }

  /** Open alerts whose condition has cleared, waiting out their `resolve_after`. */
  get clearing(): number {
    return Object.keys(this.#book.clearing ?? {}).length
  }

  /**
   * The alerts open now as the store has them (budget alerts only on the budget leader): an opening the
   * store has not taken yet is not listed, a resolution it has not taken yet leaves the alert listed,
   * so the enforcer never acts on a change the store may lose.
   */
  openAlerts(): Alert[] {
    return [...this.#stored.values()]
  }

  /** Alert changes waiting for the store to accept them. */
  get unsaved(): number {
    return this.#unsaved.reduce((n, u) => n + u.changes.length, 0)
  }

  /** Waiting alert changes folded into a later state of their alert (or dropped, see `coalesceUnsaved`) since start. */
  get coalesced(): number {
    return this.#coalesced
  }

  /** Re-reads the silences; on a store failure the previous ones stay in force. */
  async refreshSilences(now: number): Promise<void> {
    try {
      this.#silences = await this.deps.store.listSilences(now)
    } catch (err) {
      this.deps.log.warn({ err }, 'silences not refreshed, keeping the previous ones')
    }
  }

  /** A new budget leader takes the open budget alerts from the store (kept open, not re-fired). */
  async adoptBudgetAlerts(): Promise<Set<string>> {
    const open = (await this.deps.store.listAlerts({ state: 'firing', limit: 100_000 })).filter(isBudgetAlert)
    const kept = Object.entries(this.#book.open).filter(([, a]) => !isBudgetAlert(a))
    this.#book = this.#keepClearing({
      open: Object.fromEntries([...kept, ...open.map((a) => [a.dedupe_key, a] as const)]),
    })
    for (const [id, a] of this.#stored) if (isBudgetAlert(a)) this.#stored.delete(id)
    for (const a of open) this.#stored.set(a.id, a)
    return new Set(open.map((a) => a.dedupe_key))
  }

  /** Leadership moved: the budget alerts are the new leader's (dropped from the book, not resolved). */
  dropBudgetAlerts(): void {
    this.#book = this.#keepClearing({
      open: Object.fromEntries(Object.entries(this.#book.open).filter(([, a]) => !isBudgetAlert(a))),
    })
    for (const [id, a] of this.#stored) if (isBudgetAlert(a)) this.#stored.delete(id)
  }

  /** `next` with the pending resolutions of the alerts it still has open. */
  #keepClearing(next: AlertBook): AlertBook {
    const clearing = Object.entries(this.#book.clearing ?? {}).filter(
      ([key]) => next.open[key] !== undefined && !isBudgetAlert(next.open[key]),
    )
    return clearing.length > 0 ? { ...next, clearing: Object.fromEntries(clearing) } : next
  }

  /**
   * Applies findings to the book, stores the changes, then hands them on. Returns the changes this call
   * found (stored now, or waiting for the store: see `unsaved`). Never rejects on a store failure.
   */
  async record(findings: readonly Finding[], now: number): Promise<Alert[]> {
    const { alerts } = this.deps
    let changes: Alert[] = []
    if (findings.length > 0 || this.clearing > 0) {
      const links = (f: Finding) => ({
        ...(alerts.public_url
          ? { page: `${alerts.public_url.replace(/\/$/, '')}/alerts#${alertId(f.dedupe_key, f.at)}` }
          : {}),
        ...(alerts.grafana_url ? { grafana: alerts.grafana_url } : {}),
      })
      const r = applyFindings(this.#book, findings, links, {
        now,
        resolveAfter: this.deps.resolveAfter ?? (() => DEFAULT_RESOLVE_AFTER),
      })
      this.#book = r.book
      changes = r.changes
    }
    if (changes.length > 0) {
      this.#unsaved.push({
        changes: changes.map((alert) => ({
          alert,
          silenced: silencedBy(this.#silences, alert, now) !== undefined,
          instance: this.deps.instance,
        })),
        token: (this.deps.newToken ?? randomUUID)(),
        now,
      })
      this.#capUnsaved()
    }
    await this.retryUnsaved()
    return changes
  }

  /**
   * Past `alerts.max_unsaved_changes`, the batches after the first (never tried, so no token of theirs
   * can be in the store) become one batch with a fresh token: the latest state per alert. The first
   * batch stays as it is: it may have landed, and is retried with its own token.
   */
  #capUnsaved(): void {
    const max = this.deps.alerts.max_unsaved_changes
    if (this.unsaved <= max || this.#unsaved.length < 2) return
    const [head, ...tail] = this.#unsaved as [Unsaved, ...Unsaved[]]
    const inHead = new Set(head.changes.map((c) => c.alert.id))
    const before = this.unsaved - head.changes.length
    const changes = coalesceUnsaved(tail, (id) => inHead.has(id) || this.#stored.has(id))
    this.#unsaved.splice(1, tail.length, {
      changes,
      token: (this.deps.newToken ?? randomUUID)(),
      now: tail.at(-1)!.now,
    })
    this.#coalesced += before - changes.length
    this.deps.log.warn(
      { waiting: this.unsaved, coalesced: before - changes.length, max },
      'alert changes waiting for the store coalesced to the latest state of each alert',
    )
  }

  /** Writes the waiting changes in order (same tokens), handing each batch on once stored. */
  async retryUnsaved(): Promise<void> {
    while (this.#unsaved.length > 0) {
      const batch = this.#unsaved[0]!
      try {
        await this.deps.store.insertChanges(batch.changes, batch.token)
      } catch (err) {
        this.deps.log.error({ err, waiting: this.unsaved }, 'alert changes not stored, kept for the next try')
        return
      }
      this.#unsaved.shift()
      for (const { alert } of batch.changes)
        if (alert.state === 'firing') this.#stored.set(alert.id, alert)
        else this.#stored.delete(alert.id)
      await this.#handOn(batch)
    }
  }

  async #handOn({ changes, now }: Unsaved): Promise<void> {
    const { log } = this.deps
    for (const c of changes) {
      log.info(
        {
          alert: c.alert.id,
          type: c.alert.type,
          state: c.alert.state,
          severity: c.alert.severity,
          scope: c.alert.scope,
          silenced: c.silenced,
        },
        c.alert.state === 'firing' ? 'alert firing' : 'alert resolved',
      )
    }
    if (this.deps.onAlertChanges) {
      try {
        await this.deps.onAlertChanges(
          changes.map((c) => c.alert),
          now,
        )
      } catch (err) {
        log.error({ err, changes: changes.length }, 'alert changes not taken by the enforcer')
      }
    }
    const notify = changes.filter((c) => !c.silenced).map((c) => c.alert)
    if (notify.length === 0) return
    try {
      await this.deps.handOff.plan(notify, now)
    } catch (err) {
      log.error({ err, alerts: notify.length }, 'alert changes not planned for notification')
    }
  }
}
