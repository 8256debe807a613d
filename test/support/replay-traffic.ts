// LiteLLM traffic for the replay e2e test and the detection benchmark: clean requests (no detector
// should fire) and planted incidents (a loop, a budget exhausted) whose findings are known in advance.
import { litellmPayload } from './events.js'
import { prng } from './prng.js'

type Payload = Record<string, unknown>

const WORDS = (
  'invoice refund order shipping account password login billing plan upgrade cancel renew receipt ' +
  'address delivery package tracking damaged missing warranty return exchange discount coupon price ' +
  'subscription trial payment card declined charge double monthly annual export report dashboard ' +
  'chart filter date range team member invite role permission admin api key webhook integration ' +
  'slack email calendar reminder meeting notes summary translate french german spanish draft reply ' +
  'tone formal friendly shorter longer bullet table code python sql query error timeout retry'
).split(' ')

/**
 * A prompt that (almost surely) no other request shares after fingerprint normalisation: words drawn
 * from a vocabulary (long numbers and ids would be normalised away, see core/ingest/fingerprint.ts).
 */
export function variedPrompt(rnd: () => number): string {
  const n = 6 + Math.floor(rnd() * 5)
  return Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ')
}

/**
 * A LiteLLM payload with the given attribution and nothing else carried over from the fixture: no
 * agent, no session (the fixture names agent `triage` and session `s-8812`, which would make every
 * request one agent's), its own trace and prompt.
 */
export function cleanPayload(o: {
  id: string
  ts: number
  customer: string
  key: string
  trace: string
  prompt: string
  cost: number
  team?: string
  agent?: string
}): Payload {
  const p = litellmPayload({ id: o.id, customer: o.customer, cost: o.cost, ts: o.ts, key: o.key })
  const md = p.metadata as Payload
  md.spend_logs_metadata = o.agent ? { agent: o.agent } : {}
  md.requester_custom_headers = {}
  md.user_api_key_alias = ''
  md.user_api_key_team_id = md.team_id = o.team ?? ''
  md.user_api_key_team_alias = md.team_alias = ''
  p.request_tags = []
  p.trace_id = o.trace
  p.messages = [{ role: 'user', content: o.prompt }]
  return p
}

/** What the replay scenario plants, to assert findings against. */
export interface Planted {
  loop: { key: string; trace: string; customer: string; repeats: number[] }
  budget: { customer: string; name: string; limitUsd: number; spends: number[]; costEach: number }
}

const HOUR = 3_600_000

/**
 * Four hours of a Tuesday morning (2026-03-03 09:00-13:00 UTC): clean traffic of `clean` requests from
 * 60 customers (2 keys each, short conversations, unique prompts, 1-3 cents each), plus
 * - a loop: key `key-loop` (customer globex, trace `trace-loop`) sends one prompt 6 times, 3 s apart, at 11:00;
 * - a budget exhausted: customer acme (budget `acme-daily`, $5/day) spends 48 x $0.125 = $6 between
 *   10:00 and 10:35 (the limit is reached exactly at its 40th request).
 * Payloads are sorted by start time; the last one starts at 12:59:59.500.
 */
export function replayScenario(
  clean = 3000,
  seed = 7,
): { payloads: Payload[]; planted: Planted; lastTs: number } {
  const rnd = prng(seed)
  const t0 = Date.UTC(2026, 2, 3, 9)
  const span = 4 * HOUR - 500
  const payloads: Payload[] = []
  let convo = 0
  for (let i = 0; i < clean; i++) {
    const c = Math.floor(rnd() * 60)
    if (rnd() < 0.3) convo++
    payloads.push(
      cleanPayload({
        id: `clean-${i}`,
        ts: t0 + Math.floor((i / clean) * span),
        customer: `cust-${c}`,
        key: `cust-${c}-key-${i % 2}`,
        trace: `cust-${c}-conv-${convo}`,
        prompt: variedPrompt(rnd),
        cost: Math.round((0.01 + rnd() * 0.02) * 1e6) / 1e6,
        team: `team-${c % 6}`,
      }),
    )
  }
  const loopAt = t0 + 2 * HOUR
  const repeats = Array.from({ length: 6 }, (_, i) => loopAt + 250 + i * 3000)
  repeats.forEach((ts, i) =>
    payloads.push(
      cleanPayload({
        id: `loop-${i}`,
        ts,
        customer: 'globex',
        key: 'key-loop',
        trace: 'trace-loop',
        prompt: 'Summarise ticket 4711 again and list every open question',
        cost: 0.01,
      }),
    ),
  )
  const costEach = 0.125
  const spends = Array.from({ length: 48 }, (_, i) => t0 + HOUR + 1_100 + i * 45_000)
  spends.forEach((ts, i) =>
    payloads.push(
      cleanPayload({
        id: `acme-${i}`,
        ts,
        customer: 'acme',
        key: 'key-acme',
        trace: `acme-conv-${i}`,
        prompt: variedPrompt(rnd),
        cost: costEach,
      }),
    ),
  )
  payloads.push(
    cleanPayload({
      id: 'clean-last',
      ts: t0 + span,
      customer: 'cust-1',
      key: 'cust-1-key-0',
      trace: 'cust-1-last',
      prompt: variedPrompt(rnd),
      cost: 0.01,
    }),
  )
  payloads.sort((a, b) => (a.startTime as number) - (b.startTime as number))
  return {
    payloads,
    planted: {
      loop: { key: 'key-loop', trace: 'trace-loop', customer: 'globex', repeats },
      budget: { customer: 'acme', name: 'acme-daily', limitUsd: 5, spends, costEach },
    },
    lastTs: t0 + span,
  }
}

export { prng } from './prng.js'
