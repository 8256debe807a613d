/**
 * A parse worker (worker_threads): prepares LiteLLM bodies (litellm-ingest.ts `prepareLiteLLMBody`) off the
 * main thread. Started by parse-pool.ts with the mapper options as `workerData`; one message in, one out.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { MapperOptions } from '../../core/ingest/litellm/mapper.js'
import { isGatewardenError } from '../../core/errors.js'
import { prepareLiteLLMBody } from './litellm-ingest.js'
import type { ParseJob, ParseReply } from './parse-pool.js'

const mapper = (workerData as { mapper: MapperOptions }).mapper

parentPort!.on('message', (job: ParseJob) => {
  let reply: ParseReply
  try {
    reply = { id: job.id, ok: true, batch: prepareLiteLLMBody(job.body, job.ctx, mapper) }
  } catch (err) {
    reply = isGatewardenError(err)
      ? { id: job.id, ok: false, error: { code: err.code, message: err.message, retryable: err.retryable } }
      : { id: job.id, ok: false, error: { message: String((err as Error)?.stack ?? err), retryable: false } }
  }
  parentPort!.postMessage(reply)
})
