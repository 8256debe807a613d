/** Appends a gap to a bounded ring (drops the oldest beyond `cap`). */
export function pushGap(ring: number[], gap: number, cap: number): void {
  ring.push(gap)
  if (ring.length > cap) ring.shift()
}

/** Median (0 for none). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * Coefficient of variation (population standard deviation / mean) of inter-arrival gaps: 0 for a
 * metronome, about 1 for random (Poisson) arrivals, above 1 for bursty human use. Infinity when the mean is 0.
 */
export function coefficientOfVariation(xs: readonly number[]): number {
  if (xs.length === 0) return Infinity
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  if (mean <= 0) return Infinity
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length
  return Math.sqrt(variance) / mean
}
