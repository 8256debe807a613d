import type { FastifyInstance, FastifyReply } from 'fastify'
import { GatewardenError, isGatewardenError } from '../../../core/errors.js'
import {
  decodeTraceRequest,
  encodeStatus,
  encodeTraceResponse,
  type PartialSuccess,
} from '../../otlp/trace-proto.js'
import { decodeBody } from '../body.js'
import type { HttpPorts } from '../ports.js'
import { httpStatus } from '../status.js'

/** google.rpc.Code INVALID_ARGUMENT, the code of every 4xx Status body we send. */
const INVALID_ARGUMENT = 3

type Encoding = 'protobuf' | 'json'

function encodingOf(contentType: string | undefined): Encoding | undefined {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (t === 'application/x-protobuf' || t === 'application/protobuf') return 'protobuf'
  if (t === 'application/json') return 'json'
  return undefined
}

function answer(reply: FastifyReply, enc: Encoding, p: PartialSuccess): FastifyReply {
  if (enc === 'protobuf')
    return reply.type('application/x-protobuf').send(Buffer.from(encodeTraceResponse(p)))
  const partial = p.rejectedSpans > 0 || p.errorMessage !== ''
  // proto3 JSON mapping: int64 as a string
  return reply
    .type('application/json')
    .send(
      partial
        ? { partialSuccess: { rejectedSpans: String(p.rejectedSpans), errorMessage: p.errorMessage } }
        : {},
    )
}

/**
 * POST /v1/traces: OTLP/HTTP trace export (protobuf or JSON, gzip/deflate accepted), answered in the
 * request's encoding once the events are stored: an `ExportTraceServiceResponse`, with `partial_success`
 * when some LLM spans were dead-lettered. Client errors (400 undecodable, 413, 415) carry a
 * `google.rpc.Status` body; retryable ones (503 + Retry-After) go to the shared error handler.
 */
export function otlpRoutes(app: FastifyInstance, ports: HttpPorts): void {
  app.post('/v1/traces', async (req, reply) => {
    const enc = encodingOf(req.headers['content-type'])
    try {
      if (!enc) {
        const msg = `unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}: use application/x-protobuf or application/json`
        throw new GatewardenError('GW_UNSUPPORTED_MEDIA_TYPE', msg, false)
      }
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
      const body = decodeBody(raw, req.headers['content-encoding'], ports.server.body_limit_bytes)
      let request: unknown
      if (enc === 'protobuf') {
        const decoded = decodeTraceRequest(body)
        if (!decoded.ok) throw new GatewardenError('GW_BAD_REQUEST', decoded.reason, false)
        request = decoded.request
      } else {
        try {
          request = JSON.parse(body.toString('utf8'))
        } catch (err) {
          throw new GatewardenError(
            'GW_BAD_REQUEST',
            `body is not valid JSON: ${(err as Error).message}`,
            false,
            { cause: err },
          )
        }
      }
      const out = await ports.ingestOtlp(request, `POST /v1/traces ${req.id}`)
      return answer(reply, enc, { rejectedSpans: out.rejected, errorMessage: out.error_message })
    } catch (err) {
      if (!isGatewardenError(err) || err.retryable) throw err
      const status = httpStatus(err.code)
      req.log.debug({ code: err.code, status, reason: err.message }, 'otlp export refused')
      if (enc === 'protobuf') {
        return reply
          .code(status)
          .type('application/x-protobuf')
          .send(Buffer.from(encodeStatus(INVALID_ARGUMENT, err.message)))
      }
      // google.rpc.Status in JSON, plus Gatewarden's usual error object
      return reply.code(status).send({
        code: INVALID_ARGUMENT,
        message: err.message,
        error: { code: err.code, message: err.message },
      })
    }
  })
}
