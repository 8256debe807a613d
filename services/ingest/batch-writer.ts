import { createHash, randomUUID } from 'node:crypto'
import { SpanStatusCode, trace } from '@opentelemetry/api'
import type { Logger } from 'pino'
import { deadLetter, type DeadLetter } from '../../schemas/dead-letter.js'
import type { RequestEvent } from '../../schemas/request-event.js'
import type { WriterConfig } from '../../schemas/config.js'
import type { EventStore } from '../../core/ports/event-store.js'
import { GatewardenError, isGatewardenError } from '../../core/errors.js'
import { NO_FAILPOINTS, type Failpoints } from '../../core/failpoints.js'
import { DEFAULT_RETRY, systemClock, withRetry, type RetryClock } from '../../core/retry.js'
import { within } from '../lifecycle.js'

/** What one submission became once durable. */
export interface WriteReceipt {
  /** New events stored by this submission. */
  stored: number
  /** Events already stored (same event_id), counted once. */
  duplicates: number
  /** Dead letters stored: the submitted ones plus events the store refused (GW_DL_STORE_REJECTED). */
  deadLettered: number
}

/** Where an event came from, for the dead letter it becomes if the store refuses it. */
export type EventOrigin = (
  event: RequestEvent,
) => Pick<DeadLetter, 'origin'> & Partial<Pick<DeadLetter, 'topic' | 'partition' | 'offset'>>

/** A batch as the writer saw it, for metrics. */
export interface BatchInfo {
  rows: number
  duplicates: number
  deadLetters: number
  durationMs: number
}

/** Hooks for metrics; all optional. */
export interface WriterObserver {
  batchWritten?(info: BatchInfo): void
  /**
   * The events a batch stored (duplicates excluded), after commit: what detectors evaluate.
   * `submittedAt` is when the batch's oldest submission arrived (for detection latency).
   */
  eventsStored?(events: readonly RequestEvent[], submittedAt: number): void
  batchFailed?(info: { rows: number; error: unknown }): void
  /** Dead letters a batch stored (the submitted ones and the events the store refused), after commit. */
  deadLettersStored?(rows: readonly DeadLetter[]): void
  storeRetry?(info: { attempt: number; delayMs: number }): void
}

interface Pending {
  submittedAt: number
  events: readonly RequestEvent[]
  deadLetters: readonly DeadLetter[]
  originOf: EventOrigin | undefined
  resolve(r: WriteReceipt): void
  reject(e: unknown): void
}

const tracer = trace.getTracer('gatewarden')

/**
 * How far around a batch's time range the duplicate lookup reaches. The same call reported through two
 * sources (LiteLLM's generic_api and its OTel span) carries start times a few ms apart.
 */
export const DEDUPE_MARGIN_MS = 10 * 60_000

const rowsOf = (p: Pick<Pending, 'events' | 'deadLetters'>) => p.events.length + p.deadLetters.length

/**
 * Batches events and dead letters from every source into the store.
 *
 * Invariants:
 * - `submit()` resolves only after its rows are committed in the store, so a sender acked on it
 *   loses nothing to a crash (kill -9) that follows.
 * - An `event_id` is stored once: duplicates inside a batch and ids already in the store are dropped
 *   before insert (batches are written one at a time, so each sees the ones before it).
 * - Each batch has its own insert token, reused across its retries, so an insert retried after an
 *   ambiguous failure is not applied twice.
 * - Memory is bounded: past `max_pending_rows`, `submit()` rejects with a retryable GW_BACKPRESSURE.
 * - Poison isolation: only a retryable store error is retried. A batch the store refuses for its data
 *   (GW_STORE_REJECTED) is split in halves until the refused rows are alone; those become dead letters
 *   with the store's reason, their neighbours are stored and acked. One bad row never fails a batch.
 * - Dead letters are inserted after the requests, with a token derived from their content: a batch whose
 *   requests failed stored none of its dead letters, and a redelivered one (same origin) adds none.
 */
export class BatchWriter {
  readonly #queue: Pending[] = []
  #pendingRows = 0
  #timer: NodeJS.Timeout | undefined
  #draining: Promise<void> | undefined
  #closed = false

  constructor(
    private readonly store: EventStore,
    private readonly cfg: WriterConfig,
    private readonly log: Logger,
    private readonly observer: WriterObserver = {},
    private readonly clock: RetryClock = systemClock,
    private readonly newToken: () => string = randomUUID,
    private readonly failpoints: Failpoints = NO_FAILPOINTS,
  ) {}

  /** Rows accepted but not yet stored. */
  get pendingRows(): number {
    return this.#pendingRows
  }

  /** True when a submission of `rows` more would be refused. */
  isSaturated(rows = 1): boolean {
    return this.#pendingRows > 0 && this.#pendingRows + rows > this.cfg.max_pending_rows
  }

  /** Queues events and dead letters; resolves once they are durable in the store. */
  submit(
    events: readonly RequestEvent[],
    deadLetters: readonly DeadLetter[] = [],
    originOf?: EventOrigin,
  ): Promise<WriteReceipt> {
    if (this.#closed) {
      return Promise.reject(new GatewardenError('GW_SHUTTING_DOWN', 'writer is shutting down', true))
    }
    const rows = events.length + deadLetters.length
    if (rows === 0) return Promise.resolve({ stored: 0, duplicates: 0, deadLettered: 0 })
    if (this.isSaturated(rows)) {
      return Promise.reject(
        new GatewardenError('GW_BACKPRESSURE', `store is behind: ${this.#pendingRows} rows pending`, true),
      )
    }
    return new Promise<WriteReceipt>((resolve, reject) => {
      this.#queue.push({ submittedAt: this.clock.now(), events, deadLetters, originOf, resolve, reject })
      this.#pendingRows += rows
      if (this.#pendingRows >= this.cfg.max_batch_rows) this.#kick()
      else this.#timer ??= setTimeout(() => this.#kick(), this.cfg.max_batch_wait_ms)
    })
  }

  /** Writes everything queued now; resolves when the queue is empty. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#draining) {
      this.#kick()
      await this.#draining
    }
  }

  /** Nothing to acquire: ready once built (lifecycle contract, core/lifecycle.ts). */
  async start(): Promise<void> {}

  /** Refuses new input, writes what is queued (for at most `timeoutMs`), then resolves. */
  async shutdown(timeoutMs = Infinity): Promise<void> {
    this.#closed = true
    if (!(await within(this.flush(), timeoutMs))) {
      clearTimeout(this.#timer)
      this.log.warn(
        { pendingRows: this.#pendingRows, timeoutMs },
        'writer stopped before its queue was stored',
      )
    }
  }

  #kick(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined
      // input that arrived during the last batch waits its own linger, not forever
      if (this.#queue.length > 0) this.#timer ??= setTimeout(() => this.#kick(), this.cfg.max_batch_wait_ms)
    })
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch: Pending[] = []
      let rows = 0
      while (
        this.#queue.length > 0 &&
        (batch.length === 0 || rows + rowsOf(this.#queue[0]!) <= this.cfg.max_batch_rows)
      ) {
        const next = this.#queue.shift()!
        rows += rowsOf(next)
        batch.push(next)
      }
      const span = tracer.startSpan('gatewarden.store.write_batch', {
        attributes: { 'gatewarden.batch.rows': rows },
      })
      try {
        const receipts = await this.#write(batch)
        batch.forEach((p, i) => p.resolve(receipts[i]!))
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as Error)?.message ?? error) })
        this.observer.batchFailed?.({ rows, error })
        this.log.error({ err: error, rows }, 'batch not stored')
        const failure = new GatewardenError('GW_STORE_UNAVAILABLE', 'store did not accept the batch', true, {
          cause: error,
        })
        for (const p of batch) p.reject(failure)
      } finally {
        this.#pendingRows -= rows
        span.end()
      }
    }
  }

  async #write(batch: readonly Pending[]): Promise<WriteReceipt[]> {
    const started = this.clock.now()
    const events = batch.flatMap((p) => p.events)
    const deadLetters = batch.flatMap((p) => p.deadLetters)
    const existing = events.length === 0 ? new Set<string>() : await this.#retry(() => this.#lookup(events))
    const lookupMs = this.clock.now() - started

    const seen = new Set<string>(existing)
    const kept: RequestEvent[] = []
    const owner = new Map<RequestEvent, number>()
    const receipts = batch.map((p, i) => {
      let stored = 0
      for (const e of p.events) {
        if (seen.has(e.event_id)) continue
        seen.add(e.event_id)
        kept.push(e)
        owner.set(e, i)
        stored++
      }
      return { stored, duplicates: p.events.length - stored, deadLettered: p.deadLetters.length }
    })

    const token = this.newToken()
    await this.failpoints.fire('writer.before_insert', { rows: kept.length })
    const refused = kept.length > 0 ? await this.#insertIsolating(kept, token) : []
    const storeDeadLetters = refused.map(({ event, reason }) => {
      const p = batch[owner.get(event)!]!
      receipts[owner.get(event)!]!.stored--
      receipts[owner.get(event)!]!.deadLettered++
      return deadLetter(event, {
        origin: `store event ${event.event_id}`,
        ...p.originOf?.(event),
        source: event.source,
        received_at: this.clock.now(),
        code: 'GW_DL_STORE_REJECTED',
        reason,
      })
    })
    const allDeadLetters = [...deadLetters, ...storeDeadLetters]
    if (allDeadLetters.length > 0) {
      const dlToken = deadLetterToken(allDeadLetters)
      await this.#retry(() => this.store.insertDeadLetters(allDeadLetters, dlToken))
    }
    await this.failpoints.fire('writer.after_insert', { rows: kept.length })

    const refusedSet = new Set(refused.map((r) => r.event))
    const stored = refused.length === 0 ? kept : kept.filter((e) => !refusedSet.has(e))
    if (allDeadLetters.length > 0) this.observer.deadLettersStored?.(allDeadLetters)
    if (storeDeadLetters.length > 0) {
      this.log.warn(
        { rows: storeDeadLetters.length, reasons: [...new Set(refused.map((r) => r.reason))].slice(0, 5) },
        'store refused rows; dead-lettered',
      )
    }
    const info = {
      rows: stored.length,
      duplicates: events.length - kept.length,
      deadLetters: allDeadLetters.length,
      durationMs: this.clock.now() - started,
    }
    this.observer.batchWritten?.(info)
    if (stored.length > 0) this.observer.eventsStored?.(stored, Math.min(...batch.map((p) => p.submittedAt)))
    this.log.debug({ ...info, lookupMs }, 'batch stored')
    return receipts
  }

  /**
   * Inserts `rows` (retryable failures retried under `token`); when the store refuses them for their data,
   * bisects: each half goes in under its own token derived from `token`, down to single rows. Returns the
   * rows refused alone, with the store's reason. A batch with k bad rows costs about 2k·log2(n) inserts.
   */
  async #insertIsolating(
    rows: readonly RequestEvent[],
    token: string,
  ): Promise<Array<{ event: RequestEvent; reason: string }>> {
    try {
      await this.#retry(() => this.store.insertRequests(rows, token))
      return []
    } catch (error) {
      if (!isGatewardenError(error, 'GW_STORE_REJECTED')) throw error
      if (rows.length === 1) return [{ event: rows[0]!, reason: error.message }]
      const mid = rows.length >>> 1
      const left = await this.#insertIsolating(rows.slice(0, mid), `${token}.0`)
      const right = await this.#insertIsolating(rows.slice(mid), `${token}.1`)
      return [...left, ...right]
    }
  }

  #lookup(events: readonly RequestEvent[]): Promise<Set<string>> {
    let min = Infinity
    let max = -Infinity
    for (const e of events) {
      if (e.ts < min) min = e.ts
      if (e.ts > max) max = e.ts
    }
    return this.store.existingEventIds(
      [...new Set(events.map((e) => e.event_id))],
      min - DEDUPE_MARGIN_MS,
      max + DEDUPE_MARGIN_MS,
    )
  }

  #retry<T>(op: () => Promise<T>): Promise<T> {
    return withRetry(
      async () => {
        try {
          return { kind: 'success', value: await op() }
        } catch (error) {
          // a refusal of the data itself (GW_STORE_REJECTED) is not retried: the caller isolates the rows
          const retryable = !(error instanceof GatewardenError) || error.retryable
          return retryable ? { kind: 'retryable', error } : { kind: 'failure', error }
        }
      },
      { ...DEFAULT_RETRY, maxAttempts: 1_000, deadlineMs: this.cfg.store_retry_deadline_ms },
      this.clock,
      ({ attempt, delayMs, error }) => {
        this.observer.storeRetry?.({ attempt, delayMs })
        this.log.warn({ err: error, attempt, delayMs }, 'store write failed, retrying')
      },
    )
  }
}

/**
 * The insert token of a set of dead letters, from what identifies them (not `received_at`, which a
 * redelivery changes): the same dead letters submitted again are one block the store drops.
 */
function deadLetterToken(rows: readonly DeadLetter[]): string {
  const h = createHash('sha256')
  for (const d of rows) {
    h.update(JSON.stringify([d.source, d.origin, d.code, d.topic, d.partition, d.offset, d.raw_bytes, d.raw]))
  }
  return `dl-${h.digest('hex')}`
}
