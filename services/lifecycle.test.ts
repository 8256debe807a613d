import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import type { Lifecycle, NamedPart } from '../core/lifecycle.js'
import { startAll, stopAll } from './lifecycle.js'

const log = pino({ level: 'silent' })

function part(name: string, events: string[], over: Partial<Lifecycle> = {}): NamedPart {
  return {
    name,
    part: {
      start: async () => void events.push(`start ${name}`),
      flush: async () => undefined,
      shutdown: async () => void events.push(`stop ${name}`),
      ...over,
    },
  }
}

test('stopAll stops in reverse order; a part that fails or never stops is reported and the next one still stops', async () => {
  const events: string[] = []
  const parts = [
    part('store', events),
    part('engine', events, { shutdown: () => new Promise<void>(() => undefined) }),
    part('writer', events, { shutdown: () => Promise.reject(new Error('boom')) }),
    part('http', events),
  ]
  const unclean = await stopAll(parts, 100, log)
  assert.deepEqual(unclean, ['writer', 'engine'])
  assert.deepEqual(events, ['stop http', 'stop store'])
})

test('startAll: a part that fails to start makes every part shut down (reverse order), then the error comes back', async () => {
  const events: string[] = []
  const parts = [
    part('store', events),
    part('engine', events),
    part('http', events, {
      start: () => Promise.reject(Object.assign(new Error('taken'), { code: 'EADDRINUSE' })),
    }),
    part('kafka', events),
  ]
  await assert.rejects(startAll(parts, 1_000, log), /taken/)
  assert.deepEqual(events, [
    'start store',
    'start engine',
    'stop kafka',
    'stop http',
    'stop engine',
    'stop store',
  ])
})
