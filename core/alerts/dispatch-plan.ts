import { createHash } from 'node:crypto'
import type { Alert, Notification, NotificationKind } from './alert.js'

const HOUR = 3_600_000

/** The part of `AlertsConfig` the planner reads, with channel names resolved (see `channelNames`). */
export interface DispatchConfig {
  channels: readonly string[]
  /** Changes of one type and severity within this window (ms) travel together. */
  group_window: number
  /** Re-send still-firing alerts this often (ms); 0 = never. */
  renotify: number
  max_per_channel_per_hour: number
}

/** Alert changes of one group key, waiting for the group window to close. */
export interface OpenGroup {
  key: string
  kind: 'firing' | 'resolved'
  opened_at: number
  alerts: Alert[]
}

/** A notification planned for one channel and not yet released (the hourly cap was reached). */
export interface QueuedNotification {
  key: string
  kind: NotificationKind
  alerts: Alert[]
  queued_at: number
}

export interface ChannelDispatchState {
  /** Release instants within the last hour (the sliding window of the rate limit). */
  sent_at: number[]
  /** FIFO; at most one entry per group key: a later group of the same key merges into it. */
  queue: QueuedNotification[]
}

/** Everything the planner remembers. Plain JSON: persist it as is and pass it back. */
export interface DispatchState {
  groups: OpenGroup[]
  /** Firing alerts already announced, by alert id, with the instant of their last notification. */
  notified: Record<string, { alert: Alert; last_at: number }>
  channels: Record<string, ChannelDispatchState>
}

/** A notification held back by the rate limit, and the earliest instant its channel takes another one. */
export interface Deferral {
  channel: string
  key: string
  alerts: number
  not_before: number
}

export interface DispatchPlan {
  state: DispatchState
  /** Ready to deliver now (to the outbox, then the channel's sender). */
  notifications: Notification[]
  deferred: Deferral[]
  /** When to call `planDispatch` again even if nothing changes (null: not until the next change). */
  wake_at: number | null
}

/** An empty state. */
export function initialDispatchState(): DispatchState {
  return { groups: [], notified: {}, channels: {} }
}

const groupKey = (kind: NotificationKind, a: Alert): string => `${kind}|${a.type}|${a.severity}`

/**
 * One planning step at `now` (pure; `prev` is not modified). `changes` are alert state changes since the
 * last step (an opened alert, a severity change, a resolution). Rules:
 * - a change opens (or joins) the group of its kind, type and severity; the group goes out to every channel
 *   `group_window` after it opened, so 500 keys looping at once are one notification per channel;
 * - the latest change of an alert wins inside open groups: an alert that fires and resolves within the
 *   window is announced once, as resolved; a repeated `firing` with the same severity is no news;
 * - announced firing alerts are re-sent every `renotify` until resolved; when one is due, the others of its
 *   group at least half-way to their own reminder come along (one reminder per group, not one per trickle);
 * - a channel gets at most `max_per_channel_per_hour` notifications per sliding hour; the rest wait in
 *   its queue, merged by group key, and are released in order as the window frees: never dropped.
 * MUST: the same state, changes, config and `now` give the same plan, notification ids included.
 */
export function planDispatch(
  prev: DispatchState,
  changes: readonly Alert[],
  cfg: DispatchConfig,
  now: number,
): DispatchPlan {
  const state = structuredClone(prev)
  for (const name of Object.keys(state.channels))
    if (!cfg.channels.includes(name)) delete state.channels[name]
  const pending = new Map<string, OpenGroup>()
  for (const g of state.groups) for (const a of g.alerts) pending.set(a.id, g)
  for (const a of changes) ingest(state, pending, a, now)
  state.groups = state.groups.filter((g) => g.alerts.length > 0)
  flushGroups(state, cfg, now)
  renotify(state, cfg, now)
  const notifications: Notification[] = []
  const deferred: Deferral[] = []
  for (const name of cfg.channels) release(state, cfg, name, now, notifications, deferred)
  return { state, notifications, deferred, wake_at: wakeAt(state, cfg) }
}

function ingest(state: DispatchState, pending: Map<string, OpenGroup>, a: Alert, now: number): void {
  const earlier = pending.get(a.id)
  if (earlier) earlier.alerts = earlier.alerts.filter((x) => x.id !== a.id)
  if (a.state === 'firing') {
    const known = state.notified[a.id]
    if (known && known.alert.severity === a.severity) {
      known.alert = a
      return
    }
  } else {
    delete state.notified[a.id]
  }
  const key = groupKey(a.state, a)
  let group = state.groups.find((g) => g.key === key)
  if (!group) {
    group = { key, kind: a.state, opened_at: now, alerts: [] }
    state.groups.push(group)
  }
  group.alerts.push(a)
  pending.set(a.id, group)
}

function flushGroups(state: DispatchState, cfg: DispatchConfig, now: number): void {
  const due = state.groups.filter((g) => g.opened_at + cfg.group_window <= now)
  state.groups = state.groups.filter((g) => !due.includes(g))
  for (const g of due) {
    if (g.kind === 'firing') for (const a of g.alerts) state.notified[a.id] = { alert: a, last_at: now }
    enqueue(state, cfg, g.key, g.kind, g.alerts, now)
  }
}

function renotify(state: DispatchState, cfg: DispatchConfig, now: number): void {
  if (cfg.renotify <= 0) return
  const entries = Object.values(state.notified)
  const dueKeys = new Set(
    entries.filter((e) => e.last_at + cfg.renotify <= now).map((e) => groupKey('renotify', e.alert)),
  )
  if (dueKeys.size === 0) return
  // alerts of a due group that are at least half-way to their own reminder come along: a trickling
  // incident then aligns to one reminder per group, and nothing is reminded more often than renotify / 2
  const horizon = now + Math.max(cfg.group_window, cfg.renotify / 2)
  const groups = new Map<string, Alert[]>()
  for (const e of entries) {
    const key = groupKey('renotify', e.alert)
    if (!dueKeys.has(key) || e.last_at + cfg.renotify > horizon) continue
    e.last_at = now
    groups.set(key, [...(groups.get(key) ?? []), e.alert])
  }
  for (const [key, alerts] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    alerts.sort((x, y) => x.started_at - y.started_at || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
    enqueue(state, cfg, key, 'renotify', alerts, now)
  }
}

function enqueue(
  state: DispatchState,
  cfg: DispatchConfig,
  key: string,
  kind: NotificationKind,
  alerts: readonly Alert[],
  now: number,
): void {
  for (const name of cfg.channels) {
    const ch = (state.channels[name] ??= { sent_at: [], queue: [] })
    const queued = ch.queue.find((q) => q.key === key)
    if (!queued) {
      ch.queue.push({ key, kind, alerts: [...alerts], queued_at: now })
      continue
    }
    for (const a of alerts) {
      const i = queued.alerts.findIndex((x) => x.id === a.id)
      if (i >= 0) queued.alerts[i] = a
      else queued.alerts.push(a)
    }
  }
}

function release(
  state: DispatchState,
  cfg: DispatchConfig,
  name: string,
  now: number,
  out: Notification[],
  deferred: Deferral[],
): void {
  const ch = state.channels[name]
  if (!ch) return
  ch.sent_at = ch.sent_at.filter((t) => t > now - HOUR)
  while (ch.queue.length > 0 && ch.sent_at.length < cfg.max_per_channel_per_hour) {
    const q = ch.queue.shift()!
    ch.sent_at.push(now)
    out.push({
      id: notificationId(name, q, now),
      channel: name,
      kind: q.kind,
      alerts: q.alerts,
      created_at: now,
    })
  }
  const notBefore = (ch.sent_at[0] ?? now) + HOUR
  for (const q of ch.queue)
    deferred.push({ channel: name, key: q.key, alerts: q.alerts.length, not_before: notBefore })
}

/** Content-derived, so a lost planner state can never reuse the id (the receivers' idempotency key). */
function notificationId(channel: string, q: QueuedNotification, now: number): string {
  const content = JSON.stringify([
    channel,
    q.kind,
    q.key,
    now,
    q.alerts.map((a) => [a.id, a.state, a.updated_at]),
  ])
  return `ntf_${createHash('sha256').update(content).digest('hex').slice(0, 24)}`
}

function wakeAt(state: DispatchState, cfg: DispatchConfig): number | null {
  const at: number[] = state.groups.map((g) => g.opened_at + cfg.group_window)
  if (cfg.renotify > 0) for (const e of Object.values(state.notified)) at.push(e.last_at + cfg.renotify)
  for (const name of cfg.channels) {
    const ch = state.channels[name]
    if (ch && ch.queue.length > 0) at.push((ch.sent_at[0] ?? 0) + HOUR)
  }
  return at.length > 0 ? at.reduce((m, t) => Math.min(m, t)) : null
}
