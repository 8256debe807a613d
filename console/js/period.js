// Time ranges the pages ask the API for. Only the range is computed here; every number comes from the API.
const HOUR = 3_600_000
const DAY = 24 * HOUR

/** Presets: the end is the next whole hour, so the API answers from its hourly rollup. */
export const PERIODS = {
  today: { label: 'Today (UTC)', bucket: 'hour' },
  last_24h: { label: 'Last 24 hours', bucket: 'hour' },
  last_7d: { label: 'Last 7 days', bucket: 'day' },
  last_30d: { label: 'Last 30 days', bucket: 'day' },
  this_month: { label: 'This month (UTC)', bucket: 'day' },
}

/** `{ from, to, bucket }` (ISO strings) of a preset at `now`, and the previous period of the same length. */
export function range(name, now = Date.now()) {
  const p = PERIODS[name] ?? PERIODS.last_7d
  const nextHour = Math.ceil((now + 1) / HOUR) * HOUR
  let from
  let to = nextHour
  if (name === 'today') {
    from = Math.floor(now / DAY) * DAY
    to = from + DAY
  } else if (name === 'last_24h') from = to - DAY
  else if (name === 'last_30d') from = to - 30 * DAY
  else if (name === 'this_month') {
    const d = new Date(now)
    from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
    to = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
  } else from = to - 7 * DAY
  const len = to - from
  const iso = (ms) => new Date(ms).toISOString()
  return {
    from: iso(from),
    to: iso(to),
    bucket: p.bucket,
    previous: { from: iso(from - len), to: iso(from) },
  }
}
