import type { DeadLetter } from '../../schemas/dead-letter.js'
import type { RequestEvent } from '../../schemas/request-event.js'

/**
 * The port every source writes through (implemented by the ClickHouse adapter).
 * `token` identifies one batch: a retried insert with the same token MUST NOT add rows twice.
 */
export interface EventStore {
  /** Which of `ids` are already stored; `minTs`/`maxTs` (epoch ms) bound the search. */
  existingEventIds(ids: readonly string[], minTs: number, maxTs: number): Promise<Set<string>>
  insertRequests(rows: readonly RequestEvent[], token: string): Promise<void>
  insertDeadLetters(rows: readonly DeadLetter[], token: string): Promise<void>
  /** Cheap liveness check. */
  ping(): Promise<boolean>
}
