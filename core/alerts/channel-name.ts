/**
 * The name each alert channel goes by (in notifications, dispatch state and delivery records): its `name`
 * when set; else its type when it is the only unnamed channel of that type (`slack`), else the type and its
 * rank among the unnamed ones (`webhook-1`, `webhook-2`). Same config, same names.
 */
export function channelNames(channels: ReadonlyArray<{ type: string; name?: string | undefined }>): string[] {
  const unnamed = new Map<string, number>()
  for (const c of channels) if (!c.name) unnamed.set(c.type, (unnamed.get(c.type) ?? 0) + 1)
  const seen = new Map<string, number>()
  return channels.map((c) => {
    if (c.name) return c.name
    const k = (seen.get(c.type) ?? 0) + 1
    seen.set(c.type, k)
    return unnamed.get(c.type) === 1 ? c.type : `${c.type}-${k}`
  })
}
