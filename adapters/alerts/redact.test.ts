import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { redactError, redactor } from './redact.js'

test('redactor: secrets, their URL-encoded forms, and the path of a secret URL', () => {
  const r = redactor(['p@ss word', 'https://hooks.slack.com/services/T1/B2/tok3n', undefined, ''])
  const cases: Array<[string, string]> = [
    ['auth p@ss word failed', 'auth [REDACTED] failed'],
    ['pass=p%40ss%20word', 'pass=[REDACTED]'],
    ['POST https://hooks.slack.com/services/T1/B2/tok3n -> 404', 'POST [REDACTED] -> 404'],
    ['GET /services/T1/B2/tok3n', 'GET [REDACTED]'],
    ['nothing here', 'nothing here'],
  ]
  for (const [text, want] of cases) assert.equal(r(text), want, text)
})

test('redactError: keeps name, message and diagnostics, redacted, causes included; drops the rest', () => {
  const inner = Object.assign(new Error('connect ECONNREFUSED for key K-SECRET'), {
    code: 'ECONNREFUSED',
    errno: -111,
  })
  const outer = Object.assign(new Error('Invalid login: 535 K-SECRET', { cause: inner }), {
    code: 'EAUTH',
    responseCode: 535,
    response: '535 bad K-SECRET',
    request: { headers: { authorization: 'K-SECRET' } },
  })
  const copy = redactError(outer, redactor(['K-SECRET']))
  const seen = inspect(copy, { depth: 10, showHidden: true })
  assert.ok(!seen.includes('K-SECRET'), seen)
  assert.equal(copy.message, 'Invalid login: 535 [REDACTED]')
  assert.deepEqual({ ...copy }, { code: 'EAUTH', responseCode: 535, response: '535 bad [REDACTED]' })
  assert.equal((copy.cause as Error).message, 'connect ECONNREFUSED for key [REDACTED]')
  assert.equal((copy.cause as { code?: string }).code, 'ECONNREFUSED')
  assert.equal(redactError('K-SECRET thrown', redactor(['K-SECRET'])).message, '[REDACTED] thrown')
})
