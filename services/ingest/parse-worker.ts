/**
 * A parse worker (worker_threads): prepares LiteLLM bodies (litellm-ingest.ts `prepareLiteLLMBody`),
 * Kafka record batches (kafka-ingest.ts `prepareKafkaRecords`) and the NDJSON lines of `gatewarden replay`
 * (replay/file-source.ts `mapPayloadLines`) off the main thread. Started by parse-pool.ts with
 * `ParseWorkerData`; one message in, one out, after a first `hello` with the worker's OS thread id
 * (Linux; null elsewhere), so its CPU time can be told apart from the main thread's.
 */
import { readFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { isGatewardenError } from '../../core/errors.js'
import { prepareLiteLLMBody } from './litellm-ingest.js'
import { kafkaRecordsOptions, prepareKafkaRecords } from './kafka-ingest.js'
import { mapPayloadLines } from '../replay/file-source.js'
import {
  unpackRecords,
  type ParseHello,
  type ParseJob,
  type ParseReply,
  type ParseWorkerData,
} from './parse-pool.js'

const data = workerData as ParseWorkerData
// the same decoding options the Kafka source derives on the main thread
const kafka = data.kafka && kafkaRecordsOptions(data.kafka.kafka, data.kafka.config)

function run(job: ParseJob) {
  if (job.kind === 'litellm') return prepareLiteLLMBody(job.body, job.ctx, data.litellm)
  if (job.kind === 'lines') return mapPayloadLines(job.lines, job.first, data.litellm)
  if (!kafka) throw new Error('parse worker started without the Kafka source')
  return prepareKafkaRecords(unpackRecords(job.records), job.ctx, kafka)
}

/** This thread's OS thread id from /proc/thread-self (Linux), else null. */
function osThreadId(): number | null {
  try {
    const id = Number.parseInt(readFileSync('/proc/thread-self/stat', 'utf8'), 10)
    return Number.isSafeInteger(id) ? id : null
  } catch {
    return null
  }
}

parentPort!.postMessage({ hello: { tid: osThreadId() } } satisfies ParseHello)

parentPort!.on('message', (job: ParseJob) => {
  let reply: ParseReply
  try {
    reply = { id: job.id, ok: true, batch: run(job) }
  } catch (err) {
    reply = isGatewardenError(err)
      ? { id: job.id, ok: false, error: { code: err.code, message: err.message, retryable: err.retryable } }
      : { id: job.id, ok: false, error: { message: String((err as Error)?.stack ?? err), retryable: false } }
  }
  parentPort!.postMessage(reply)
})
