/**
 * Evicts the least recently used entries of an insertion-ordered `Map` (touch = delete + set) once it
 * holds more than `max`: down to 90% of `max` in one pass. Batches matter: each fresh Map iterator walks
 * over the slots of entries deleted before it, so evicting one entry per insert would cost O(size) each.
 * Returns how many were evicted; `onEvict` sees each one before it goes.
 */
export function evictOver<K, V>(map: Map<K, V>, max: number, onEvict?: (key: K, value: V) => void): number {
  if (map.size <= max) return 0
  const target = Math.max(1, Math.floor(max * 0.9))
  let n = 0
  for (const [key, value] of map) {
    if (map.size <= target) break
    onEvict?.(key, value)
    map.delete(key)
    n++
  }
  return n
}
