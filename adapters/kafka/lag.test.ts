import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Admin } from 'kafkajs'
import { LagTracker } from './lag.js'

const admin = (high: Record<number, number>, committed: Record<number, number>, low = 0) =>
  ({
    fetchTopicOffsets: async () =>
      Object.entries(high).map(([p, h]) => ({
        partition: Number(p),
        offset: String(h),
        high: String(h),
        low: String(low),
      })),
    fetchOffsets: async () => [
      {
        topic: 't',
        partitions: Object.entries(committed).map(([p, o]) => ({
          partition: Number(p),
          offset: String(o),
          metadata: null,
        })),
      },
    ],
  }) as unknown as Admin

test('lag = high watermark - max(processed, committed, low), for assigned partitions only', async () => {
  const lag = new LagTracker()
  assert.deepEqual(lag.points(), [], 'nothing before an assignment')
  lag.assign({ t: [0, 1, 2] })
  await lag.refresh(admin({ 0: 100, 1: 50, 2: 30, 3: 999 }, { 0: 40, 1: -1, 2: 30 }, 5), 'g', ['t'])
  assert.deepEqual(
    lag.points().map((p) => [p.attributes.partition, p.value]),
    [
      [0, 60],
      [1, 45],
      [2, 0],
    ],
  )
  lag.processed('t', 0, 90, 120)
  assert.equal(lag.points()[0]!.value, 30, 'a stored batch moves the position and the end it saw')
  lag.assign({ t: [1] })
  assert.deepEqual(
    lag.points().map((p) => p.attributes.partition),
    [1],
  )
})
