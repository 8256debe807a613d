import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { createStoreClient } from '../../adapters/clickhouse/client.js'
import { Config } from '../../schemas/config.js'
import { start } from '../../services/start.js'
import { silentLog, testDataDir } from '../support/store.js'

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

test('listen fails on a taken port: start rejects, the store is closed, the engine timer is cleared, nothing dangles', async () => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  const port = (taken.address() as { port: number }).port
  try {
    const config = Config.parse({
      server: { host: '127.0.0.1', port },
      store: { data_dir: testDataDir(), database: `startfail_${process.pid}` },
      detectors: { tick: '1s' },
    })
    let closed = 0
    const before = timers()
    await assert.rejects(
      start(config, silentLog, Date.now, {
        openStore: (cfg) => {
          const store = createStoreClient(cfg)
          const close = store.client.close.bind(store.client)
          store.client.close = async () => {
            closed++
            await close()
          }
          return store
        },
      }),
      (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE',
    )
    assert.equal(closed, 1, 'the store the failed start opened is closed')
    assert.equal(timers(), before, 'no timer left behind (engine tick, writer linger)')
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()))
  }
})
