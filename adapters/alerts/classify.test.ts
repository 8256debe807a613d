import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { NodemailerError } from 'nodemailer'
import { isRetryableSmtpError } from './email-sender.js'
import { isRetryableStatus } from './http-delivery.js'

test('HTTP status: 408, 429 and 5xx retry; 3xx and other 4xx do not', () => {
  const cases: Array<[number, boolean]> = [
    [301, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [408, true],
    [410, false],
    [413, false],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
  ]
  for (const [status, want] of cases) assert.equal(isRetryableStatus(status), want, String(status))
})

test('SMTP errors: 4xx temporary retries, 5xx permanent fails, connection errors retry', () => {
  const err = (fields: Partial<NodemailerError>): NodemailerError => Object.assign(new Error('x'), fields)
  const cases: Array<[string, NodemailerError, boolean]> = [
    ['421 service closing', err({ code: 'EENVELOPE', responseCode: 421 }), true],
    ['450 mailbox busy', err({ code: 'EENVELOPE', responseCode: 450 }), true],
    ['454 temporary auth failure', err({ code: 'EAUTH', responseCode: 454 }), true],
    ['535 bad credentials', err({ code: 'EAUTH', responseCode: 535 }), false],
    ['550 no such user', err({ code: 'EENVELOPE', responseCode: 550 }), false],
    ['554 rejected', err({ code: 'EMESSAGE', responseCode: 554 }), false],
    ['503 per nodemailer: not permanent', err({ responseCode: 503, permanent: false }), true],
    ['connection refused', err({ code: 'ESOCKET' }), true],
    ['connection closed', err({ code: 'ECONNECTION' }), true],
    ['timeout', err({ code: 'ETIMEDOUT' }), true],
    ['aborted by our deadline', err({ code: 'EABORT' }), true],
    ['DNS', err({ code: 'EDNS' }), true],
    ['no credentials', err({ code: 'ENOAUTH' }), false],
    ['bad envelope, no reply', err({ code: 'EENVELOPE' }), false],
    ['TLS', err({ code: 'ETLS' }), false],
    ['unknown', err({}), false],
  ]
  for (const [name, e, want] of cases) assert.equal(isRetryableSmtpError(e), want, name)
})
