import { z } from 'zod'

/** The attributed fields, each fed by an ordered list of field paths (first non-empty wins). */
export type AttributionDefaults = Record<
  'customer' | 'agent' | 'endpoint' | 'session' | 'tier',
  readonly string[]
>

const PathList = z.array(z.string().min(1)).min(1)

/** The schema of the path lists, with `defaults` for the lists a config leaves out. */
export function attributionLists(defaults: AttributionDefaults) {
  return z.strictObject({
    customer: PathList.default([...defaults.customer]),
    agent: PathList.default([...defaults.agent]),
    endpoint: PathList.default([...defaults.endpoint]),
    session: PathList.default([...defaults.session]),
    tier: PathList.default([...defaults.tier]),
  })
}
