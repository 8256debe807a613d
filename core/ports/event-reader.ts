import type { RequestEvent } from '../../schemas/request-event.js'

/** How much of each event and of the range `readEvents` gives. */
export interface ReadEventsOptions {
  /**
   * `detection`: every field except the prompt and response texts (given as ''), which no detector
   * reads and which are most of a stored row. Default `all`.
   */
  columns?: 'all' | 'detection'
  /** Only the newest `newest` events of the range (still in event-time order). */
  newest?: number
  /**
   * Only agents' events: a non-empty `agent`, or an `api_key_hash` / `api_key_alias` listed in `agentKeys`
   * (what the zombie detector counts, core/detectors/zombie.ts `agentIdentity`).
   */
  onlyAgents?: { agentKeys: readonly string[] }
}

/** Whether an event passes `ReadEventsOptions.onlyAgents`. */
export function isAgentEvent(
  e: Pick<RequestEvent, 'agent' | 'api_key_hash' | 'api_key_alias'>,
  agentKeys: readonly string[],
): boolean {
  return (
    e.agent !== '' ||
    (e.api_key_hash !== '' && agentKeys.includes(e.api_key_hash)) ||
    (e.api_key_alias !== '' && agentKeys.includes(e.api_key_alias))
  )
}

/**
 * Reads stored events back (restore of loop/zombie state, replay from the store).
 * MUST: pages come in event-time order (`ts`, then `event_id`), every event with `ts` in
 * `[fromTs, toTs)` exactly once (with `opts.newest`, the last `newest` of them).
 */
export interface EventReader {
  readEvents(
    fromTs: number,
    toTs: number,
    pageSize?: number,
    opts?: ReadEventsOptions,
  ): AsyncIterable<RequestEvent[]>
  /** Number of stored events with `ts` in `[fromTs, toTs)` (what `readEvents` would give). */
  countEvents(fromTs: number, toTs: number): Promise<number>
}
