import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { MapperOptions } from '../../core/ingest/litellm/mapper.js'
import type { Lifecycle } from '../../core/lifecycle.js'
import type { KafkaRecord } from '../../adapters/kafka/consumer.js'
import { GatewardenError, type ErrorCode } from '../../core/errors.js'
import type { BodyContext, BodyPreparer, LiteLLMBody } from './litellm-ingest.js'
import type {
  KafkaRecordsConfig,
  KafkaRecordsContext,
  KafkaRecordsSource,
  RecordsPreparer,
} from './kafka-ingest.js'
import type { PortableBatch } from './submit.js'
import type { LinesBatch, LinesPreparer } from '../replay/file-source.js'

/** What a parse worker is started with (plain data: it crosses the thread). */
export interface ParseWorkerData {
  litellm: MapperOptions
  /** The Kafka source's settings, when there is one (the worker derives its decoding: `kafkaRecordsOptions`). */
  kafka?: { kafka: KafkaRecordsSource; config: KafkaRecordsConfig }
}

/** One job, as posted to a parse worker. */
export type ParseJob =
  | { id: number; kind: 'litellm'; body: LiteLLMBody; ctx: BodyContext }
  | { id: number; kind: 'kafka'; records: PackedRecords; ctx: KafkaRecordsContext }
  | { id: number; kind: 'lines'; lines: string[]; first: number }

/** A parse worker's answer: the portable batch, or the error a job got (its code when it is ours). */
export type ParseReply =
  | { id: number; ok: true; batch: PortableBatch | LinesBatch }
  | { id: number; ok: false; error: { code?: ErrorCode; message: string; retryable: boolean } }

/** A parse worker's first message: its OS thread id (null when the platform does not say). */
export interface ParseHello {
  hello: { tid: number | null }
}

/**
 * Kafka records as they cross to a worker: every value copied once into one buffer that is transferred,
 * not cloned (a clone of each record's Buffer cost ~20 us per message on the event loop), and each
 * record's place in it (`length` -1: a null value).
 */
export interface PackedRecords {
  meta: Array<{ topic: string; partition: number; offset: string; start: number; length: number }>
  bytes: Uint8Array
}

/** Packs records for a worker (see `PackedRecords`). */
export function packRecords(records: readonly KafkaRecord[]): PackedRecords {
  let total = 0
  for (const r of records) total += r.value?.length ?? 0
  const bytes = new Uint8Array(total)
  const meta: PackedRecords['meta'] = []
  let at = 0
  for (const r of records) {
    const length = r.value ? r.value.length : -1
    if (r.value) bytes.set(r.value, at)
    meta.push({ topic: r.topic, partition: r.partition, offset: r.offset, start: at, length })
    if (length > 0) at += length
  }
  return { meta, bytes }
}

/** The records of `packed`, each value a Buffer over the transferred bytes (no copy). */
export function unpackRecords(packed: PackedRecords): KafkaRecord[] {
  const { buffer, byteOffset } = packed.bytes
  return packed.meta.map((m) => ({
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    value: m.length < 0 ? null : Buffer.from(buffer, byteOffset + m.start, m.length),
  }))
}

/** Workers for `ingest.parse_workers`: `auto` is one per core beyond the first, at most 4. */
export function parseWorkerCount(setting: 'auto' | number, cores = availableParallelism()): number {
  return setting === 'auto' ? Math.min(4, Math.max(0, cores - 1)) : setting
}

interface Slot {
  worker: Worker
  jobs: Map<number, { resolve(b: PortableBatch | LinesBatch): void; reject(e: unknown): void }>
}

type JobInput = ParseJob extends infer J ? (J extends ParseJob ? Omit<J, 'id'> : never) : never

/**
 * A fixed pool of parse workers (parse-worker.ts): each LiteLLM body or Kafka record batch goes to the
 * worker with the fewest jobs in flight, its bytes copied over, the prepared batch cloned back. On 2 cores,
 * JSON.parse and the mappers run beside detection and the writer instead of before them. A worker that
 * dies fails its jobs (retryable: nothing was acked, the sender or the partition retries) and is replaced.
 * Nothing is stored here: acks and commits still follow the store's commit. A service part
 * (core/lifecycle.ts): the workers start with `start` and stop with `shutdown`.
 */
export class ParsePool implements Lifecycle {
  readonly #slots: Slot[] = []
  #nextId = 1
  #closed = false

  constructor(
    private readonly size: number,
    private readonly data: ParseWorkerData,
    private readonly log: Logger,
  ) {}

  /** Starts the workers. */
  start(): Promise<void> {
    while (this.#slots.length < this.size) this.#slots.push(this.#spawn())
    return Promise.resolve()
  }

  /** Nothing is held between jobs. */
  flush(): Promise<void> {
    return Promise.resolve()
  }

  /** Stops every worker (jobs in flight fail with GW_SHUTTING_DOWN). */
  async shutdown(): Promise<void> {
    this.#closed = true
    await Promise.all(this.#slots.map((s) => s.worker.terminate()))
  }

  /** The preparer of litellm-ingest.ts, backed by this pool. */
  readonly prepareBody: BodyPreparer = (body, ctx) =>
    this.#run({ kind: 'litellm', body, ctx }) as Promise<PortableBatch>

  /** The preparer of kafka-ingest.ts, backed by this pool. */
  readonly prepareRecords: RecordsPreparer = (records, ctx) => {
    const packed = packRecords(records)
    // a fresh ArrayBuffer of its own (packRecords), so transferring it moves nothing else
    return this.#run({ kind: 'kafka', records: packed, ctx }, [
      packed.bytes.buffer as ArrayBuffer,
    ]) as Promise<PortableBatch>
  }

  /** The NDJSON line mapper of `gatewarden replay` (replay/file-source.ts), backed by this pool. */
  readonly prepareLines: LinesPreparer = (lines, first) =>
    this.#run({ kind: 'lines', lines, first }) as Promise<LinesBatch>

  #run(job: JobInput, transfer: ArrayBuffer[] = []): Promise<PortableBatch | LinesBatch> {
    if (this.#closed || this.#slots.length === 0) {
      const why = this.#closed ? 'parse workers are stopping' : 'parse workers are not started'
      return Promise.reject(new GatewardenError('GW_SHUTTING_DOWN', why, true))
    }
    const slot = this.#slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a))
    const id = this.#nextId++
    return new Promise<PortableBatch | LinesBatch>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject })
      // a job in flight keeps the process alive (a replay awaits nothing else); an idle worker does not
      if (slot.jobs.size === 1) slot.worker.ref()
      slot.worker.postMessage({ ...job, id }, transfer)
    })
  }

  #spawn(): Slot {
    const worker = new Worker(new URL('./parse-worker.js', import.meta.url), { workerData: this.data })
    const slot: Slot = { worker, jobs: new Map() }
    worker.on('message', (reply: ParseReply | ParseHello) => {
      if ('hello' in reply) {
        // the bench tells the workers' CPU time apart by this line (bench/workload.ts threadCpu)
        this.log.info({ tid: reply.hello.tid }, 'parse worker started')
        return
      }
      const job = slot.jobs.get(reply.id)
      if (!job) return
      slot.jobs.delete(reply.id)
      if (slot.jobs.size === 0) worker.unref()
      if (reply.ok) job.resolve(reply.batch)
      else {
        const { code, message, retryable } = reply.error
        job.reject(code ? new GatewardenError(code, message, retryable) : new Error(message))
      }
    })
    worker.on('error', (err) => this.log.error({ err }, 'parse worker failed'))
    worker.on('exit', (exitCode) => {
      const failure = this.#closed
        ? new GatewardenError('GW_SHUTTING_DOWN', 'parse workers are stopping', true)
        : new GatewardenError('GW_BACKPRESSURE', `parse worker exited (${exitCode}); retry`, true)
      for (const job of slot.jobs.values()) job.reject(failure)
      slot.jobs.clear()
      if (this.#closed) return
      this.log.warn({ exitCode }, 'parse worker exited; starting another')
      const i = this.#slots.indexOf(slot)
      if (i !== -1) this.#slots[i] = this.#spawn()
    })
    // an idle worker does not keep the process alive
    worker.unref()
    return slot
  }
}
