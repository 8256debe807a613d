import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NO_FAILPOINTS } from '../core/failpoints.js'
import { silentLog } from '../test/support/store.js'
import { failpointsFromEnv, processFailpoints } from './failpoints.js'

test('GATEWARDEN_FAILPOINTS unset or empty: nothing armed, the shared no-op registry', () => {
  assert.equal(failpointsFromEnv({}).size, 0)
  assert.equal(failpointsFromEnv({ GATEWARDEN_FAILPOINTS: '' }).size, 0)
  assert.equal(processFailpoints(failpointsFromEnv({}), silentLog), NO_FAILPOINTS)
})

test('GATEWARDEN_FAILPOINTS is parsed once; a bad entry is a config error naming the variable and the key', () => {
  const plan = failpointsFromEnv({
    GATEWARDEN_FAILPOINTS: 'writer.after_insert=crash,kafka.before_commit=crash@2,store.insert=error(5)',
  })
  assert.deepEqual([...plan.keys()], ['writer.after_insert', 'kafka.before_commit', 'store.insert'])
  assert.throws(
    () => failpointsFromEnv({ GATEWARDEN_FAILPOINTS: 'store.insert=error(5),kafka.before_comit=crash' }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'GW_CONFIG_INVALID')
      assert.match(err.message, /^GATEWARDEN_FAILPOINTS: unknown failpoint "kafka.before_comit"/)
      return true
    },
  )
  assert.throws(
    () => failpointsFromEnv({ GATEWARDEN_FAILPOINTS: 'store.insert=boom' }),
    /GATEWARDEN_FAILPOINTS: failpoint "store.insert": unknown action "boom"/,
  )
})

test('an armed registry acts on error and delay (crash is covered by the crash tests)', async () => {
  const fp = processFailpoints(
    failpointsFromEnv({ GATEWARDEN_FAILPOINTS: 'store.insert=error(1)' }),
    silentLog,
  )
  await assert.rejects(fp.fire('store.insert')!, /failpoint store.insert/)
  assert.equal(fp.fire('store.insert'), undefined)
})
