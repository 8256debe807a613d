import { GatewardenError } from '../../core/errors.js'

/** A JSON API body (the app reads every body as bytes): parsed, or GW_BAD_REQUEST. */
export function jsonBody(body: unknown): unknown {
  try {
    return JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : '') as unknown
  } catch {
    throw new GatewardenError('GW_BAD_REQUEST', 'body is not valid JSON', false)
  }
}
