import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { profileArgs, profileLines, summarizeProfile } from './profile.js'

const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber })

/** root -> a (file x) -> b (file y); samples: 2 in a, 3 in b, 5 idle, 1 in GC (time deltas in us). */
const profile = {
  nodes: [
    { id: 1, callFrame: frame('(root)') },
    { id: 2, callFrame: frame('a', 'file:///repo/dist/core/x.js', 9) },
    { id: 3, callFrame: frame('b', 'file:///repo/dist/core/y.js', 19) },
    { id: 4, callFrame: frame('(idle)') },
    { id: 5, callFrame: frame('(garbage collector)') },
  ],
  samples: [2, 3, 4, 3, 2, 4, 3, 4, 5, 4, 4],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
}

test('a profile sums to self time per function, idle apart, busiest first with its share', () => {
  const s = summarizeProfile(profile)
  assert.equal(s.idleMs, 5)
  assert.equal(s.busyMs, 6)
  assert.deepEqual(
    s.top.map((h) => [h.name, h.ms, Math.round(h.share * 100)]),
    [
      ['b core/y.js:20', 3, 50],
      ['a core/x.js:10', 2, 33],
      ['(garbage collector)', 1, 17],
    ],
  )
})

test('each profile file becomes one line naming its thread; the node options turn the profiler on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-profile-'))
  try {
    writeFileSync(join(dir, 'CPU.20261202.192314.9863.0.001.cpuprofile'), JSON.stringify(profile))
    writeFileSync(join(dir, 'CPU.20261202.192316.9863.1.002.cpuprofile'), JSON.stringify(profile))
    writeFileSync(join(dir, 'notes.txt'), 'not a profile')
    const lines = profileLines(dir, 2)
    assert.equal(lines.length, 2)
    assert.match(
      lines[0]!,
      /^profile main thread .*busy 0\.01 s, idle 0\.01 s; by self time: b core\/y\.js:20 3 ms \(50\.0%\); a core\/x\.js:10 2 ms/,
    )
    assert.match(lines[1]!, /^profile worker thread 1 /)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  assert.deepEqual(profileArgs(undefined), [])
  assert.deepEqual(profileArgs('/tmp/p'), ['--cpu-prof', '--cpu-prof-dir=/tmp/p'])
})
