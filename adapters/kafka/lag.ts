import type { Admin } from 'kafkajs'
import type { GaugePoint } from '../telemetry/metrics.js'

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`

/**
 * Consumer lag of the partitions assigned to this instance: high watermark minus the next offset to
 * process (what this instance stored, else the group's committed offset, else the partition's start).
 * Fed by the consumer (assignment, processed offsets) and refreshed from the broker by `refresh()`.
 */
export class LagTracker {
  #assigned: Array<{ topic: string; partition: number }> = []
  readonly #next = new Map<string, number>()
  readonly #committed = new Map<string, number>()
  readonly #high = new Map<string, number>()
  readonly #low = new Map<string, number>()

  /** Replaces the assignment (after each group join; empty when the consumer stops). */
  assign(assignment: Record<string, readonly number[]>): void {
    this.#assigned = Object.entries(assignment).flatMap(([topic, parts]) =>
      parts.map((partition) => ({ topic, partition })),
    )
    const keep = new Set(this.#assigned.map((a) => key(a.topic, a.partition)))
    for (const k of this.#next.keys()) if (!keep.has(k)) this.#next.delete(k)
  }

  /** Offsets up to `nextOffset` are stored; `highWatermark` is the batch's view of the partition end. */
  processed(topic: string, partition: number, nextOffset: number, highWatermark?: number): void {
    const k = key(topic, partition)
    this.#next.set(k, Math.max(nextOffset, this.#next.get(k) ?? 0))
    if (highWatermark !== undefined && highWatermark > (this.#high.get(k) ?? -1))
      this.#high.set(k, highWatermark)
  }

  /** Reads high watermarks and the group's committed offsets from the broker. */
  async refresh(admin: Admin, groupId: string, topics: readonly string[]): Promise<void> {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        this.#high.set(key(topic, p.partition), Number(p.high))
        this.#low.set(key(topic, p.partition), Number(p.low))
      }
    }
    for (const t of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
      for (const p of t.partitions) {
        const offset = Number(p.offset)
        if (offset >= 0) this.#committed.set(key(t.topic, p.partition), offset)
      }
    }
  }

  /** One gauge point per assigned partition whose end is known. */
  points(): GaugePoint[] {
    const out: GaugePoint[] = []
    for (const { topic, partition } of this.#assigned) {
      const k = key(topic, partition)
      const high = this.#high.get(k)
      if (high === undefined) continue
      const position = Math.max(this.#next.get(k) ?? -1, this.#committed.get(k) ?? -1, this.#low.get(k) ?? 0)
      out.push({ value: Math.max(0, high - position), attributes: { topic, partition } })
    }
    return out
  }
}
