import type { RequestEvent } from '../../schemas/request-event.js'

/**
 * Reads stored events back (restore of loop/zombie state, replay from the store).
 * MUST: pages come in event-time order (`ts`, then `event_id`), every event with `ts` in
 * `[fromTs, toTs)` exactly once.
 */
export interface EventReader {
  readEvents(fromTs: number, toTs: number, pageSize?: number): AsyncIterable<RequestEvent[]>
  /** Number of stored events with `ts` in `[fromTs, toTs)` (what `readEvents` would give). */
  countEvents(fromTs: number, toTs: number): Promise<number>
}
