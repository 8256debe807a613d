import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { MapperOptions } from '../../core/ingest/litellm/mapper.js'
import { GatewardenError, type ErrorCode } from '../../core/errors.js'
import type { BodyContext, BodyPreparer, LiteLLMBody } from './litellm-ingest.js'
import type { PortableBatch } from './submit.js'

/** One body to prepare, as posted to a parse worker. */
export interface ParseJob {
  id: number
  body: LiteLLMBody
  ctx: BodyContext
}

/** A parse worker's answer: the portable batch, or the error a body got (its code when it is ours). */
export type ParseReply =
  | { id: number; ok: true; batch: PortableBatch }
  | { id: number; ok: false; error: { code?: ErrorCode; message: string; retryable: boolean } }

/** Workers for `ingest.parse_workers`: `auto` is one per core beyond the first, at most 4. */
export function parseWorkerCount(setting: 'auto' | number, cores = availableParallelism()): number {
  return setting === 'auto' ? Math.min(4, Math.max(0, cores - 1)) : setting
}

interface Slot {
  worker: Worker
  jobs: Map<number, { resolve(b: PortableBatch): void; reject(e: unknown): void }>
}

/**
 * A fixed pool of parse workers (parse-worker.ts): each body goes to the worker with the fewest jobs in
 * flight, its bytes copied over, the prepared batch cloned back. On 2 cores, JSON.parse and the mapper run
 * beside detection and the writer instead of before them. A worker that dies fails its jobs (retryable, the
 * sender retries: nothing was acked) and is replaced. Nothing is stored here: acks still follow the commit.
 */
export class ParsePool {
  readonly #slots: Slot[] = []
  #nextId = 1
  #closed = false

  constructor(
    size: number,
    private readonly mapper: MapperOptions,
    private readonly log: Logger,
  ) {
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn())
  }

  get size(): number {
    return this.#slots.length
  }

  /** The preparer of litellm-ingest.ts, backed by this pool. */
  readonly prepare: BodyPreparer = (body, ctx) => {
    if (this.#closed) {
      return Promise.reject(new GatewardenError('GW_SHUTTING_DOWN', 'parse workers are stopping', true))
    }
    const slot = this.#slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a))
    const id = this.#nextId++
    return new Promise<PortableBatch>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject })
      slot.worker.postMessage({ id, body, ctx } satisfies ParseJob)
    })
  }

  /** Stops every worker (jobs in flight fail with GW_SHUTTING_DOWN). */
  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(this.#slots.map((s) => s.worker.terminate()))
  }

  #spawn(): Slot {
    const worker = new Worker(new URL('./parse-worker.js', import.meta.url), {
      workerData: { mapper: this.mapper },
    })
    const slot: Slot = { worker, jobs: new Map() }
    worker.on('message', (reply: ParseReply) => {
      const job = slot.jobs.get(reply.id)
      if (!job) return
      slot.jobs.delete(reply.id)
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
    // a worker with nothing to do does not keep the process alive
    worker.unref()
    return slot
  }
}
