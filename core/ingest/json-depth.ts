/**
 * Deepest nesting of arrays and objects a mapper walks. Mappers, schemas and serialisers recurse, so a
 * value nested deeper (`[[[[...]]]]`, 10^5 levels parse fine) would overflow the stack; it is refused first.
 */
export const MAX_JSON_DEPTH = 128

/** True when `value` nests arrays/objects deeper than `max` levels. Iterative: never overflows itself. */
export function nestedDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) continue
    if (depth >= max) return true
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
  }
  return false
}
