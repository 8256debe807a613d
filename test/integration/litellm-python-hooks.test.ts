import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { litellmPython } from '../support/litellm-python.js'
import { REPO_ROOT } from '../support/paths.js'

/**
 * The python callbacks Gatewarden ships for LiteLLM, tested with the real LiteLLM package (the venv of
 * scripts/litellm/setup.sh): the guardrail hook (matcher, LiteLLM's own pre-call walk, a real
 * /api/rules/active server with ETag/304 and fail-open expiry) and the Kafka logger (fake producer).
 */
const SUITES = [
  { dir: 'integrations/litellm', pattern: 'test_gatewarden_guardrail.py' },
  { dir: 'integrations/litellm/kafka_logger', pattern: 'test_gatewarden_kafka_logger.py' },
]

for (const s of SUITES) {
  test(`python unittest ${s.dir}/${s.pattern}`, () => {
    const python = litellmPython()
    const res = spawnSync(python, ['-m', 'unittest', 'discover', '-s', s.dir, '-p', s.pattern, '-v'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 300_000,
      env: {
        ...process.env,
        LITELLM_LOCAL_MODEL_COST_MAP: 'True',
        PYTHONWARNINGS: 'ignore',
        NO_PROXY: '127.0.0.1,localhost',
        no_proxy: '127.0.0.1,localhost',
        GATEWARDEN_URL: '',
      },
    })
    const out = `${res.stdout}\n${res.stderr}`
    assert.equal(res.status, 0, `python tests failed (${join(s.dir, s.pattern)}):\n${out.slice(-6000)}`)
    // unittest prints "Ran N tests" and "OK": a suite that ran nothing is a failure too
    const ran = Number(/Ran (\d+) tests?/.exec(out)?.[1] ?? 0)
    assert.ok(ran > 0, `no python test ran:\n${out.slice(-2000)}`)
    assert.match(out, /\nOK/)
  })
}
