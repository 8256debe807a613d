import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isGatewardenError } from './errors.js'
import {
  createFailpoints,
  NO_FAILPOINTS,
  parseFailpoints,
  type FailAction,
  type FailEffects,
  type FailpointName,
  type FailRule,
} from './failpoints.js'

const parsed = (spec: string) => {
  const r = parseFailpoints(spec)
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return Object.fromEntries(r.plan)
}

test('parses each action form', () => {
  const table: Array<[string, Record<string, FailRule>]> = [
    ['', {}],
    ['  ', {}],
    [
      'writer.after_insert=crash',
      { 'writer.after_insert': { action: { kind: 'crash' }, from: 1, times: 1 } },
    ],
    [
      'kafka.before_commit=crash@3',
      { 'kafka.before_commit': { action: { kind: 'crash' }, from: 3, times: 1 } },
    ],
    ['store.insert=error', { 'store.insert': { action: { kind: 'error' }, from: 1, times: Infinity } }],
    ['store.insert=error(5)', { 'store.insert': { action: { kind: 'error' }, from: 1, times: 5 } }],
    ['store.insert=error(2)@4', { 'store.insert': { action: { kind: 'error' }, from: 4, times: 2 } }],
    [
      'http.before_ack=delay(250)',
      { 'http.before_ack': { action: { kind: 'delay', ms: 250 }, from: 1, times: Infinity } },
    ],
    ['http.before_ack=off', {}],
    [
      ' writer.after_insert = crash@2 , store.insert=error(5) ,',
      {
        'writer.after_insert': { action: { kind: 'crash' }, from: 2, times: 1 },
        'store.insert': { action: { kind: 'error' }, from: 1, times: 5 },
      },
    ],
  ]
  for (const [spec, want] of table) assert.deepEqual(parsed(spec), want, spec)
})

test('a bad spec is an error naming the entry', () => {
  const table: Array<[string, RegExp]> = [
    ['writer.after_inserts=crash', /unknown failpoint "writer.after_inserts" \(known: writer.before_insert,/],
    ['store.insert', /failpoint "store.insert": no action/],
    ['store.insert=', /failpoint "store.insert": bad action/],
    ['store.insert=explode', /failpoint "store.insert": unknown action "explode"/],
    ['store.insert=crash(2)', /crash takes no argument/],
    ['store.insert=delay', /delay needs its milliseconds/],
    ['store.insert=error(0)', /error\(N\) needs N >= 1/],
    ['store.insert=crash@0', /@hit counts from 1/],
    ['store.insert=error(-1)', /bad action in "error\(-1\)"/],
    ['store.insert=off@2', /off takes no argument/],
    ['store.insert=crash,store.insert=error', /"store.insert" is given twice/],
  ]
  for (const [spec, want] of table) {
    const r = parseFailpoints(spec)
    assert.equal(r.ok, false, spec)
    if (!r.ok) assert.match(r.reason, want, spec)
  }
})

function recorder() {
  const log: string[] = []
  const effects: FailEffects = {
    crash: (name) => void log.push(`crash ${name}`),
    sleep: async (ms) => void log.push(`sleep ${ms}`),
    fired: (name, action, hit) => void log.push(`fired ${name} ${action.kind} #${hit}`),
  }
  return { log, effects }
}

const registry = (spec: string, effects: FailEffects) => {
  const r = parseFailpoints(spec)
  assert.ok(r.ok)
  return createFailpoints(r.plan, effects)
}

test('hit counts per point and triggers on the hits its rule names', () => {
  const table: Array<[string, FailpointName, Array<FailAction['kind'] | undefined>]> = [
    ['writer.after_insert=crash', 'writer.after_insert', ['crash', undefined, undefined]],
    ['writer.after_insert=crash@3', 'writer.after_insert', [undefined, undefined, 'crash', undefined]],
    ['store.insert=error(2)', 'store.insert', ['error', 'error', undefined, undefined]],
    ['store.insert=error(2)@2', 'store.insert', [undefined, 'error', 'error', undefined]],
    ['store.insert=error', 'store.insert', ['error', 'error', 'error', 'error']],
    ['http.before_ack=delay(5)@2', 'http.before_ack', [undefined, 'delay', 'delay']],
    // a point that is not armed never triggers, even when others are
    ['store.insert=error', 'kafka.before_commit', [undefined, undefined]],
  ]
  for (const [spec, name, want] of table) {
    const fp = registry(spec, recorder().effects)
    assert.deepEqual(
      want.map(() => fp.hit(name)?.kind),
      want,
      `${spec} at ${name}`,
    )
  }
})

test('fire acts: error rejects retryable GW_FAILPOINT, delay sleeps, crash never settles', async () => {
  const { log, effects } = recorder()
  const fp = registry('store.insert=error(1),http.before_ack=delay(7),kafka.before_commit=crash@2', effects)
  assert.equal(fp.armed, true)

  await assert.rejects(fp.fire('store.insert')!, (err: unknown) => {
    assert.ok(isGatewardenError(err, 'GW_FAILPOINT'))
    assert.equal(err.retryable, true)
    assert.match(err.message, /store.insert/)
    return true
  })
  assert.equal(fp.fire('store.insert'), undefined, 'error(1) is spent')
  await fp.fire('http.before_ack')
  assert.equal(fp.fire('kafka.before_commit'), undefined, 'crash@2: not on the first hit')
  const crashed = fp.fire('kafka.before_commit')
  assert.ok(crashed)
  const settled = await Promise.race([crashed.then(() => 'settled'), Promise.resolve('pending')])
  assert.equal(settled, 'pending')
  assert.deepEqual(log, [
    'fired store.insert error #1',
    'fired http.before_ack delay #1',
    'sleep 7',
    'fired kafka.before_commit crash #2',
    'crash kafka.before_commit',
  ])
  assert.equal(fp.hits('store.insert'), 2)
  assert.equal(fp.hits('writer.before_insert'), 0)
})

test('clear disarms one point at runtime: `error` holds until cleared, hits keep counting, others stay armed', () => {
  const fp = registry('store.insert=error,http.before_ack=delay(1)', recorder().effects)
  assert.deepEqual(
    [1, 2, 3].map(() => fp.hit('store.insert')?.kind),
    ['error', 'error', 'error'],
  )
  fp.clear('store.insert')
  assert.equal(fp.hit('store.insert'), undefined, 'cleared: the store is back')
  assert.equal(fp.fire('store.insert'), undefined)
  assert.equal(fp.hits('store.insert'), 5)
  assert.equal(fp.hit('http.before_ack')?.kind, 'delay', 'another point is not cleared')
  NO_FAILPOINTS.clear('store.insert')
})

test('nothing armed: the shared no-op registry, no hit is counted', () => {
  const fp = registry('', recorder().effects)
  assert.equal(fp, NO_FAILPOINTS)
  assert.equal(fp.armed, false)
  assert.equal(fp.fire('store.insert'), undefined)
  assert.equal(fp.hits('store.insert'), 0)
})
