import type { RequestEvent } from '../../schemas/request-event.js'
import { byEventTime } from './restore.js'

/**
 * Reorder buffer behind the watermark: events wait here until the watermark (latest event time seen,
 * or the injected clock, minus `allowed_lateness`) passes them, then leave in event-time order (ties by
 * event_id). So events out of order by up to `allowed_lateness` reach the detectors exactly as if they
 * had arrived in order. A binary min-heap in a plain array (JSON-able).
 */
export interface ReorderBuffer {
  /** Latest event time seen. */
  maxTs: number
  heap: RequestEvent[]
}

export function initReorderBuffer(): ReorderBuffer {
  return { maxTs: -1, heap: [] }
}

/** Events strictly before the watermark may leave; events at or after it wait. */
export function watermark(buf: ReorderBuffer, lateness: number, now = -Infinity): number {
  return Math.max(buf.maxTs, now) - lateness
}

export function bufferPush(buf: ReorderBuffer, e: RequestEvent): void {
  buf.maxTs = Math.max(buf.maxTs, e.ts)
  const h = buf.heap
  h.push(e)
  let i = h.length - 1
  while (i > 0) {
    const p = (i - 1) >> 1
    if (byEventTime(h[p]!, h[i]!) <= 0) break
    ;[h[p], h[i]] = [h[i]!, h[p]!]
    i = p
  }
}

export function bufferPeek(buf: ReorderBuffer): RequestEvent | undefined {
  return buf.heap[0]
}

export function bufferPop(buf: ReorderBuffer): RequestEvent | undefined {
  const h = buf.heap
  const top = h[0]
  const last = h.pop()
  if (h.length === 0 || last === undefined) return top
  h[0] = last
  for (let i = 0; ;) {
    const l = 2 * i + 1
    const r = l + 1
    let m = i
    if (l < h.length && byEventTime(h[l]!, h[m]!) < 0) m = l
    if (r < h.length && byEventTime(h[r]!, h[m]!) < 0) m = r
    if (m === i) break
    ;[h[m], h[i]] = [h[i]!, h[m]!]
    i = m
  }
  return top
}
