import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, watch, type FSWatcher } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import pino from 'pino'
import { Config } from '../../schemas/config.js'
import { start, type Running } from '../../services/start.js'
import { REPO_ROOT } from '../support/paths.js'
import { prng } from '../support/prng.js'
import { rows } from '../support/store.js'

/**
 * Kills tried before giving up (skip) on landing one between the parts of an insert. Timed as a fraction
 * of the previous insert's duration, the first tear came after 3 to 50 kills in 5 runs, and 2 runs (and
 * CI runs, where other test files load the machine) saw none in 60. Each kill now follows the commit of
 * the insert's own `requests` part, seen in its data directory, while the inserter pushes the rollup
 * views one after the other (test/support/bulk-inserter.ts).
 */
const MAX_KILLS = 60
const BATCH_ROWS = 100_000
/** Hours each batch spreads over: every batch writes to each of them. */
const BULK_HOURS = 24
/** Start of the UTC day before yesterday: the events' hours stay inside the minute rollup's TTL. */
const BULK_BASE_MS = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000

const dir = mkdtempSync(join(tmpdir(), 'gw-torn-'))
const database = 'torn'
let gw: Running | undefined
after(async () => {
  await gw?.stop()
  rmSync(dir, { recursive: true, force: true })
})

interface Found {
  raw: string
  hour: string
  minute: string
  /** The data directory of `requests`, where each committed part appears as a directory of its own. */
  requests_dir: string
}

/** An insert's own part (level 0: `<partition>_<block>_<block>_0`), committed (not a `tmp_` directory). */
const INSERTED_PART = /^[^_]+_(\d+)_\1_0$/

/**
 * One child inserting 100k-row batches into the store, killed (SIGKILL) as soon as one of its inserts has
 * committed its `requests` part (the rollup views' parts follow, one after the other), or, after
 * `delayMs`, if none is seen. Resolves with what the child found in the store at its start.
 */
function killMidInsert(round: number, delayMs: number): Promise<Found> {
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'dist/test/support/bulk-inserter.js'),
      dir,
      database,
      String(round),
      String(BATCH_ROWS),
      String(BULK_BASE_MS),
      String(BULK_HOURS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  return new Promise((resolve, reject) => {
    let found: Found | undefined
    let watcher: FSWatcher | undefined
    const kill = () => {
      watcher?.close()
      child.kill('SIGKILL')
    }
    child.once('exit', (code, signal) => {
      watcher?.close()
      if (signal === 'SIGKILL' && found) resolve(found)
      else reject(new Error(`inserter exited ${code ?? signal} before it was killed`))
    })
    // the child's one line: what it found at its start
    createInterface({ input: child.stdout }).once('line', (line) => {
      const rec = JSON.parse(line) as Found
      found = rec
      // already torn: stop here, the test goes on with this store
      if (rec.raw !== rec.hour || rec.raw !== rec.minute) return kill()
      const before = new Set(readdirSync(rec.requests_dir))
      // parts the merges make have a level above 0; an insert's own part is new at level 0
      watcher = watch(rec.requests_dir, (_event, name) => {
        if (name && !before.has(name) && INSERTED_PART.test(name)) kill()
      })
      setTimeout(kill, delayMs).unref()
    })
  })
}

test('a real kill -9 mid-insert tears requests from the rollups; the next start repairs it, and /api/cost answers the raw sums', async (t) => {
  const seed = Number(process.env.GW_TORN_SEED ?? Math.floor(Math.random() * 2 ** 31))
  t.diagnostic(`seed ${seed}`)
  const random = prng(seed)
  let torn: Found | undefined
  let kills = 0
  while (!torn && kills < MAX_KILLS) {
    // the store a child finds at its start is what the previous kill left; a kill that no part commit
    // triggered comes at a seeded time instead
    const found = await killMidInsert(kills, 5_000 + Math.floor(random() * 5_000))
    if (found.raw !== found.hour || found.raw !== found.minute) torn = found
    else kills++
  }
  if (!torn) {
    t.skip(`no kill of ${MAX_KILLS} landed between the parts of one insert`)
    return
  }
  t.diagnostic(`torn after ${kills} kills: ${JSON.stringify(torn)}`)

  const lines: Array<Record<string, unknown>> = []
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) })
  gw = await start(Config.parse({ server: { port: 0 }, store: { data_dir: dir, database } }), log)
  const repaired = lines.filter((l) => l.msg === 'rollup repaired from raw rows')
  t.diagnostic(
    `repaired: ${repaired.map((l) => `${String(l.table)} ${(l.hours as string[]).length} h`).join(', ')}`,
  )
  assert.ok(repaired.length > 0, 'the start rebuilt some hours')
  assert.equal(lines.filter((l) => l.level === 50).length, 0, 'no error logged')

  const perHour = (table: string, bucket: string, count: string) =>
    rows<{ h: string; n: string; c: string }>(
      gw!.store,
      `SELECT toString(toStartOfHour(${bucket})) h, toString(${count}) n, toString(sum(cost_usd)) c
       FROM {{db}}.${table} GROUP BY h ORDER BY h`,
    )
  const raw = await perHour('requests', 'ts', 'count()')
  assert.equal(raw.length, BULK_HOURS)
  assert.deepEqual(await perHour('spend_by_hour', 'hour', 'sum(requests)'), raw, 'hourly rollup = raw')
  assert.deepEqual(await perHour('spend_by_minute', 'minute', 'sum(requests)'), raw, 'minute rollup = raw')

  const from = new Date(BULK_BASE_MS).toISOString()
  const to = new Date(BULK_BASE_MS + BULK_HOURS * 3_600_000).toISOString()
  const res = await gw.app.inject({ method: 'GET', url: `/api/cost?group_by=hour&from=${from}&to=${to}` })
  const body = res.json<{ source: string; rows: Array<{ hour: string; requests: number }> }>()
  assert.equal(body.source, 'spend_by_hour')
  assert.deepEqual(
    body.rows.map((r) => [r.hour.replace('T', ' ').replace(':00:00Z', ':00:00'), String(r.requests)]).sort(),
    raw.map((r) => [r.h, r.n]),
  )
})
