import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import {
  insertDelivery,
  insertNotifications,
  pendingNotifications,
} from '../../adapters/clickhouse/outbox-table.js'
import type { Alert, Notification } from '../../core/alerts/alert.js'
import { initialDispatchState, planDispatch, type DispatchState } from '../../core/alerts/dispatch-plan.js'
import type { AlertSender } from '../../core/alerts/sender.js'
import { backoffDelay, DEFAULT_RETRY, systemClock, withRetry, type RetryClock } from '../../core/retry.js'
import type { AlertsConfig } from '../../schemas/policy.js'

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
 * - silenced alerts are never given to the planner.
 */
export class Dispatcher {
  #state: DispatchState = initialDispatchState()
  readonly #pending = new Map<string, Pending>()
  readonly #inFlight = new Map<string, Promise<void>>()
  readonly #senders: Map<string, AlertSender>
  #stopped = false

  constructor(
    private readonly store: StoreClient,
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
    for (const p of await pendingNotifications(
      this.store.client,
      this.store.database,
      now,
      OUTBOX_LOOKBACK_MS,
    )) {
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
      await insertNotifications(
        this.store.client,
        this.store.database,
        plan.notifications.map((notification) => ({ notification, notBefore: now })),
        randomUUID(),
      )
      for (const n of plan.notifications)
        this.#pending.set(n.id, { notification: n, notBefore: now, rounds: 0 })
    }
    if (plan.deferred.length > 0)
      this.log.info({ deferred: plan.deferred }, 'notifications held by the channel rate limit')
    this.#drive(now)
  }

  /** Notifications written to the outbox and not yet delivered. */
  get pending(): number {
    return this.#pending.size
  }

  /** Waits for deliveries under way (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight.values())
  }

  /** Stops starting rounds, waits for those under way, closes the senders. */
  async shutdown(): Promise<void> {
    this.#stopped = true
    await this.settle()
    for (const s of this.#senders.values()) await s.shutdown()
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
    const record = (outcome: 'success' | 'retry' | 'failure', detail: string) =>
      insertDelivery(this.store.client, this.store.database, {
        notificationId: n.id,
        channel: n.channel,
        attempt: p.rounds * ROUND.maxAttempts + attempt,
        outcome,
        detail,
        at: this.clock.now(),
      })
    try {
      const receipt = await withRetry(
        async () => {
          attempt++
          return sender.send(n)
        },
        ROUND,
        this.clock,
      )
      await record('success', receipt.detail)
      this.#pending.delete(n.id)
      this.log.info(
        { notification: n.id, channel: n.channel, kind: n.kind, alerts: n.alerts.length },
        'notification delivered',
      )
    } catch (err) {
      const retryable = (err as { retryable?: boolean }).retryable !== false
      const detail = String((err as Error)?.message ?? err)
      if (!retryable) {
        await record('failure', detail).catch(() => undefined)
        this.#pending.delete(n.id)
        this.log.error({ notification: n.id, channel: n.channel, err }, 'notification refused by the channel')
        return
      }
      p.rounds++
      p.notBefore = this.clock.now() + backoffDelay(BETWEEN_ROUNDS, p.rounds, this.clock.random())
      await record('retry', detail).catch(() => undefined)
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
  }

  /** Called on every tick: closes due groups, renotifies, re-drives notifications whose next round is due. */
  tick(now: number): Promise<void> {
    return this.plan([], now)
  }
}
