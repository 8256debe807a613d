import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { AttributionConfig, PrivacyConfig } from '../../schemas/config.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import { litellmPayload } from '../../test/support/events.js'
import { ParsePool } from '../ingest/parse-pool.js'
import { fileEvents, type LinesPreparer } from './file-source.js'

const work = mkdtempSync(join(tmpdir(), 'gw-replay-source-'))
after(() => rmSync(work, { recursive: true, force: true }))

const mapper = {
  source: 'litellm_http' as const,
  gateway: 'litellm',
  attribution: AttributionConfig.parse({}),
  privacy: PrivacyConfig.parse({}),
}

const T0 = Date.parse('2026-11-24T10:00:00Z')
const payload = (i: number) =>
  litellmPayload({ id: `call-${i}`, customer: `c${i % 7}`, cost: 0.01, ts: T0 + i * 1000 })

/**
 * 1,000 lines, past several batches of lines (256 each): payloads one per line, some lines holding an
 * array of three, lines that are not JSON, payloads the mapper rejects, blank lines, and repeats of
 * earlier ids (within a batch and across batches).
 */
function mixedLines(): { lines: string[]; invalid: number } {
  const lines: string[] = []
  let invalid = 0
  for (let i = 0; i < 1_000; i++) {
    if (i % 97 === 5) {
      lines.push('{"not json')
      invalid++
    } else if (i % 89 === 7) {
      lines.push(JSON.stringify({ ...payload(i), response_cost: -5 }))
      invalid++
    } else if (i % 83 === 3) lines.push('')
    else if (i % 61 === 0)
      lines.push(JSON.stringify([payload(i), payload(i + 100_000), payload(i + 200_000)]))
    else if (i % 41 === 0) lines.push(JSON.stringify(payload(i - 30)))
    else if (i % 300 === 299) lines.push(JSON.stringify(payload(i - 290)))
    else lines.push(JSON.stringify(payload(i)))
  }
  return { lines, invalid }
}

async function read(path: string, prepare?: LinesPreparer) {
  const { stats, events } = fileEvents(path, mapper, prepare)
  const out: RequestEvent[] = []
  for await (const e of events) out.push(e)
  return { stats, events: out }
}

test('replay file source: lines mapped on a parse worker give the events and counts of the inline read, in file order', async () => {
  const file = join(work, 'mixed.ndjson')
  const mixed = mixedLines()
  writeFileSync(file, mixed.lines.join('\n') + '\n')
  const inline = await read(file)
  const pool = new ParsePool(1, { litellm: mapper }, pino({ level: 'silent' }))
  await pool.start()
  try {
    const pooled = await read(file, pool.prepareLines)
    assert.deepEqual(pooled.events, inline.events)
    assert.deepEqual(pooled.stats, inline.stats)
  } finally {
    await pool.shutdown()
  }
  // what the file holds, counted independently of the reader
  const s = inline.stats
  assert.equal(s.invalid, mixed.invalid, 'lines that are not JSON and payloads with a negative cost')
  assert.ok(
    s.invalidSamples.every((x, i, a) => i === 0 || a[i - 1]!.line <= x.line),
    'samples in file order',
  )
  assert.ok(s.duplicates > 0)
  assert.equal(inline.events.length + s.invalid + s.duplicates, s.items)
  assert.equal(new Set(inline.events.map((e) => e.event_id)).size, inline.events.length, 'each id once')
})

test('replay file source: a first line that is not JSON is counted, and the lines after it are read', async () => {
  const file = join(work, 'bad-first.ndjson')
  writeFileSync(file, ['{"oops', JSON.stringify(payload(1)), JSON.stringify(payload(2))].join('\n'))
  const { stats, events } = await read(file)
  assert.deepEqual(
    events.map((e) => e.event_id),
    ['call-1', 'call-2'],
  )
  assert.equal(stats.invalid, 1)
  assert.equal(stats.invalidSamples[0]!.line, 1)
})
