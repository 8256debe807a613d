import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Alert, Notification } from '../../core/alerts/alert.js'
import { initialDispatchState, planDispatch, type DispatchState } from '../../core/alerts/dispatch-plan.js'
import type { AlertSender } from '../../core/alerts/sender.js'
import type { Lifecycle } from '../../core/lifecycle.js'
import type { DeliveryRecord, NotificationOutbox } from '../../core/ports/notification-outbox.js'
import { backoffDelay, DEFAULT_RETRY, systemClock, withRetry, type RetryClock } from '../../core/retry.js'
import type { AlertsConfig } from '../../schemas/policy.js'
import { within } from '../lifecycle.js'

/** How far back the outbox is re-read at start (older undelivered notifications are abandoned). */
const OUTBOX_LOOKBACK_MS = 7 * 86_400_000
/** Retry policy of one delivery round; after it, the notification waits in the outbox for the next round. */
const ROUND = { ...DEFAULT_RETRY, maxAttempts: 5, deadlineMs: 30_000 }
/** Backoff between delivery rounds of a notification whose channel stays down. */
const BETWEEN_ROUNDS = { ...DEFAULT_RETRY, baseDelayMs: 30_000, maxDelayMs: 15 * 60_000 }

interface Pending {
  notification: Notification
  notBefore: number
  rounds: number
}

/**
 * Turns alert state changes into notifications and delivers them.
 *
 * Invariants:
 * - a notification is written to the outbox (`alert_notifications`) before its first send, and every
 *   attempt's outcome to `alert_deliveries`: a channel that is down, or a crash, delays a message and
 *   never loses it (pending ones are re-read at start and re-driven);
 * - each notification is delivered at most once per success: the next round starts only after a round
 *   ended without one, and senders carry the notification id as idempotency key;
 * - silenced alerts are never given to the planner;
 * - a store failure loses nothing: notifications the outbox refused wait in memory (same insert token)
 *   and are sent only once written; a delivery whose record the store refused is not sent again (its
 *   record is retried on the next tick; a crash before that re-sends it, with the same idempotency key).
 */
export class Dispatcher implements Lifecycle {
  #state: DispatchState = initialDispatchState()
  readonly #pending = new Map<string, Pending>()
  readonly #inFlight = new Map<string, Promise<void>>()
  readonly #senders: Map<string, AlertSender>
  /** Planned notifications the outbox has not accepted yet, with their insert token. */
  readonly #unwritten: Array<{ items: Pending[]; token: string }> = []
  /** Final delivery records the store refused (the notification is done; the record is retried). */
  readonly #unrecorded: DeliveryRecord[] = []
  #stopping: Promise<void> | undefined
  #stopped = false

  constructor(
    private readonly outbox: NotificationOutbox,
    senders: readonly AlertSender[],
    private readonly cfg: AlertsConfig,
    private readonly log: Logger,
    private readonly clock: RetryClock = systemClock,
  ) {
    this.#senders = new Map(senders.map((s) => [s.channel, s]))
  }

  /** Re-reads undelivered notifications from the outbox and starts delivering them. */
  async start(): Promise<void> {
    const now = this.clock.now()
    for (const p of await this.outbox.pending(now, OUTBOX_LOOKBACK_MS)) {
      if (!this.#senders.has(p.notification.channel)) continue
      this.#pending.set(p.notification.id, {
        notification: p.notification,
        notBefore: p.notBefore,
        rounds: p.attempts,
      })
    }
    if (this.#pending.size > 0) this.log.info({ pending: this.#pending.size }, 'outbox notifications resumed')
    this.#drive(now)
  }

  /** Plans notifications for alert changes (silenced ones excluded) and due regroupings/renotifications. */
  async plan(changes: readonly Alert[], now: number): Promise<void> {
    if (this.#senders.size === 0) return
    const plan = planDispatch(
      this.#state,
      changes,
      {
        channels: [...this.#senders.keys()],
        group_window: this.cfg.group_window,
        renotify: this.cfg.renotify,
        max_per_channel_per_hour: this.cfg.max_per_channel_per_hour,
      },
      now,
    )
    this.#state = plan.state
    if (plan.notifications.length > 0) {
      const items = plan.notifications.map((n) => ({ notification: n, notBefore: now, rounds: 0 }))
      this.#unwritten.push({ items, token: randomUUID() })
    }
    if (plan.deferred.length > 0)
      this.log.info({ deferred: plan.deferred }, 'notifications held by the channel rate limit')
    await this.#writeOutbox()
    await this.#recordDelivered()
    this.#drive(now)
  }

  /** Writes planned notifications to the outbox, in order; they become deliverable once written. */
  async #writeOutbox(): Promise<void> {
    while (this.#unwritten.length > 0) {
      const { items, token } = this.#unwritten[0]!
      try {
        await this.outbox.insertNotifications(items, token)
      } catch (err) {
        this.log.error(
          { err, notifications: items.length },
          'outbox not written, notifications kept for the next try',
        )
        return
      }
      this.#unwritten.shift()
      for (const p of items) this.#pending.set(p.notification.id, p)
    }
  }

  /** Retries the final delivery records the store refused. */
  async #recordDelivered(): Promise<void> {
    while (this.#unrecorded.length > 0) {
      try {
        await this.outbox.recordDelivery(this.#unrecorded[0]!)
      } catch (err) {
        this.log.warn({ err, waiting: this.#unrecorded.length }, 'delivery records not stored yet')
        return
      }
      this.#unrecorded.shift()
    }
  }

  /** Notifications planned and not yet delivered (waiting for the outbox or for a channel). */
  get pending(): number {
    return this.#pending.size + this.#unwritten.reduce((n, u) => n + u.items.length, 0)
  }

  /** Final delivery records waiting for the store. */
  get unrecorded(): number {
    return this.#unrecorded.length
  }

  /** Waits for the delivery rounds under way (not for notifications whose next round is later). */
  async flush(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight.values())
  }

  /** Stops starting rounds, waits (at most `timeoutMs`) for those under way, closes the senders. */
  shutdown(timeoutMs: number): Promise<void> {
    return (this.#stopping ??= (async () => {
      this.#stopped = true
      await within(this.flush(), timeoutMs)
      await within(this.#recordDelivered(), timeoutMs)
      for (const s of this.#senders.values()) await within(s.shutdown(), timeoutMs)
    })())
  }

  #drive(now: number): void {
    if (this.#stopped) return
    for (const [id, p] of this.#pending) {
      if (p.notBefore > now || this.#inFlight.has(id)) continue
      const round = this.#deliver(p).finally(() => this.#inFlight.delete(id))
      this.#inFlight.set(id, round)
    }
  }

  async #deliver(p: Pending): Promise<void> {
    const n = p.notification
    const sender = this.#senders.get(n.channel)
    if (!sender) return
    let attempt = 0
    const entry = (outcome: DeliveryRecord['outcome'], detail: string): DeliveryRecord => ({
      notificationId: n.id,
      channel: n.channel,
      attempt: p.rounds * ROUND.maxAttempts + attempt,
      outcome,
      detail,
      at: this.clock.now(),
    })
    let receipt
    try {
      receipt = await withRetry(
        async () => {
          attempt++
          return sender.send(n)
        },
        ROUND,
        this.clock,
      )
    } catch (err) {
      await this.#roundFailed(p, err, entry)
      return
    }
    // delivered: never sent again by this process, whether or not the store takes the record now
    this.#pending.delete(n.id)
    const done = entry('success', receipt.detail)
    try {
      await this.outbox.recordDelivery(done)
    } catch (err) {
      this.#unrecorded.push(done)
      this.log.warn({ err, notification: n.id }, 'delivery not recorded yet, retried on the next tick')
    }
    this.log.info(
      { notification: n.id, channel: n.channel, kind: n.kind, alerts: n.alerts.length },
      'notification delivered',
    )
  }

  /** A round ended without success: a refusal is final, anything else waits for the next round. */
  async #roundFailed(
    p: Pending,
    err: unknown,
    entry: (outcome: DeliveryRecord['outcome'], detail: string) => DeliveryRecord,
  ): Promise<void> {
    const n = p.notification
    const retryable = (err as { retryable?: boolean }).retryable !== false
    const detail = String((err as Error)?.message ?? err)
    if (!retryable) {
      this.#pending.delete(n.id)
      const final = entry('failure', detail)
      await this.outbox.recordDelivery(final).catch(() => this.#unrecorded.push(final))
      this.log.error({ notification: n.id, channel: n.channel, err }, 'notification refused by the channel')
      return
    }
    p.rounds++
    p.notBefore = this.clock.now() + backoffDelay(BETWEEN_ROUNDS, p.rounds, this.clock.random())
    // a lost retry record only undercounts attempts: the notification stays pending either way
    await this.outbox.recordDelivery(entry('retry', detail)).catch(() => undefined)
    this.log.warn(
      {
        notification: n.id,
        channel: n.channel,
        rounds: p.rounds,
        nextAt: new Date(p.notBefore).toISOString(),
      },
      'channel unavailable, notification kept in the outbox',
    )
  }

  /** Called on every tick: closes due groups, renotifies, re-drives notifications whose next round is due. */
  tick(now: number): Promise<void> {
    return this.plan([], now)
  }
}
