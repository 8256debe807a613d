/**
 * One resolution tier of a spend series: sparse time buckets (only buckets that saw spend exist),
 * sorted by start, with running prefix sums so a window sum costs two binary searches.
 * Plain arrays: JSON-able as is.
 */
export interface BucketTier {
  /** Bucket width (ms). */
  size: number
  /** Bucket starts (epoch ms, multiples of `size`), ascending. */
  starts: number[]
  /** Spend per bucket (USD). */
  sums: number[]
  /** Prefix sums: `cum[i] = sums[0] + ... + sums[i]`. */
  cum: number[]
}

export function newTier(size: number): BucketTier {
  return { size, starts: [], sums: [], cum: [] }
}

/** First index whose start is >= `x` (starts.length when none). */
function lowerBound(starts: readonly number[], x: number): number {
  let lo = 0
  let hi = starts.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (starts[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Adds `amount` at `ts`. In-order adds touch the last bucket (O(1)); a late add re-sums the tail. */
export function tierAdd(t: BucketTier, ts: number, amount: number): void {
  const b = Math.floor(ts / t.size) * t.size
  const n = t.starts.length
  const last = n > 0 ? t.starts[n - 1]! : -Infinity
  if (b === last) {
    t.sums[n - 1]! += amount
    t.cum[n - 1]! += amount
    return
  }
  if (b > last) {
    t.starts.push(b)
    t.sums.push(amount)
    t.cum.push((n > 0 ? t.cum[n - 1]! : 0) + amount)
    return
  }
  let i = lowerBound(t.starts, b)
  if (t.starts[i] === b) t.sums[i]! += amount
  else {
    t.starts.splice(i, 0, b)
    t.sums.splice(i, 0, amount)
    t.cum.splice(i, 0, 0)
  }
  for (let acc = i > 0 ? t.cum[i - 1]! : 0; i < t.starts.length; i++) {
    acc += t.sums[i]!
    t.cum[i] = acc
  }
}

/** Drops buckets that end at or before `before`, and rebases the prefix sums (keeps them small and exact). */
export function tierTrim(t: BucketTier, before: number): void {
  const k = lowerBound(t.starts, before - t.size + 1)
  if (k === 0) return
  const base = t.cum[k - 1]!
  t.starts.splice(0, k)
  t.sums.splice(0, k)
  t.cum.splice(0, k)
  for (let i = 0; i < t.cum.length; i++) t.cum[i] = t.cum[i]! - base
}

/**
 * Spend in `[from, to)`. Buckets entirely inside count whole; the bucket holding `from` counts pro rata
 * (spend assumed even across the bucket); the bucket holding `to` counts whole (exact when nothing at or
 * after `to` was added). Exact when `from` and `to` fall on bucket boundaries.
 */
export function tierSum(t: BucketTier, from: number, to: number): number {
  if (to <= from || t.starts.length === 0) return 0
  const b0 = Math.floor(from / t.size) * t.size
  let i0 = lowerBound(t.starts, b0)
  let partial = 0
  if (i0 < t.starts.length && t.starts[i0] === b0) {
    partial = (t.sums[i0]! * (Math.min(b0 + t.size, to) - from)) / t.size
    i0++
  }
  const i1 = lowerBound(t.starts, to) - 1
  const full = i1 >= i0 ? t.cum[i1]! - (i0 > 0 ? t.cum[i0 - 1]! : 0) : 0
  return partial + full
}
