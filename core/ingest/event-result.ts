import type { DeadLetterCode } from '../../schemas/dead-letter.js'
import { RequestEvent } from '../../schemas/request-event.js'
import { clipLabels } from './labels.js'

/** A mapped event and how many of its values were truncated, or the reason the item is dead-lettered. */
export type MapResult =
  { ok: true; event: RequestEvent; truncated: number } | { ok: false; reason: string; code: DeadLetterCode }

/**
 * The last step of every mapper: applies the truncation rule (`clipLabels`), then validates against
 * `RequestEvent`. What still fails (an event id over 256 chars, a negative count...) is the dead-letter reason.
 */
export function toEvent(candidate: Record<string, unknown>): MapResult {
  const { value, truncated } = clipLabels(candidate)
  const event = RequestEvent.safeParse(value)
  if (!event.success) {
    const issue = event.error.issues[0]
    return {
      ok: false,
      reason: `invalid ${issue?.path.join('.') || 'event'}: ${issue?.message}`,
      code: 'GW_DL_INVALID',
    }
  }
  return { ok: true, event: event.data, truncated }
}
