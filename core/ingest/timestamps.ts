import { MAX_EVENT_TS_MS, MIN_EVENT_TS_MS } from '../../schemas/request-event.js'

/** The unit a numeric epoch value was given in. */
export type EpochUnit = 's' | 'ms' | 'us' | 'ns' | 'iso'

/** A parsed instant, or why it could not be read. */
export type InstantResult = { ok: true; ms: number; unit: EpochUnit } | { ok: false; reason: string }

/**
 * Reads an epoch instant whatever its unit. LiteLLM sends float seconds; senders that send ms (or µs, ns)
 * by mistake are detected by magnitude: seconds stay below 1e11 until the year 5138, and ms above it after 1973.
 * The result MUST fall between 2000-01-01 and 2100-01-01, else it is rejected.
 */
export function readInstant(value: unknown): InstantResult {
  let ms: number
  let unit: EpochUnit
  if (typeof value === 'string' && value.trim() !== '' && Number.isNaN(Number(value))) {
    ms = Date.parse(value)
    unit = 'iso'
    if (Number.isNaN(ms))
      return { ok: false, reason: `not a timestamp: ${JSON.stringify(value.slice(0, 40))}` }
  } else {
    const n = typeof value === 'string' ? Number(value) : value
    if (typeof n !== 'number' || !Number.isFinite(n)) return { ok: false, reason: 'missing or not a number' }
    const abs = Math.abs(n)
    if (abs < 1e11) [ms, unit] = [n * 1000, 's']
    else if (abs < 1e14) [ms, unit] = [n, 'ms']
    else if (abs < 1e17) [ms, unit] = [n / 1e3, 'us']
    else [ms, unit] = [n / 1e6, 'ns']
  }
  ms = Math.round(ms)
  if (ms < MIN_EVENT_TS_MS || ms > MAX_EVENT_TS_MS) {
    // past ±8.64e15 ms a Date is invalid and toISOString throws (RangeError): say the number instead
    const shown = Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms)
    return { ok: false, reason: `out of range (${shown}), read as ${unit}` }
  }
  return { ok: true, ms, unit }
}
