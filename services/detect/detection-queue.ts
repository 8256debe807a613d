import type { RequestEvent } from '../../schemas/request-event.js'

/** The work the queue runs, one step at a time. */
export interface DetectionSteps {
  /** Stored events (several batches coalesced), `submittedAt` the earliest batch's submission. */
  events(events: readonly RequestEvent[], submittedAt: number): Promise<void>
  tick(): Promise<void>
  /** A step rejected (logged by the owner; the queue goes on). */
  failed(err: unknown, step: 'events' | 'tick'): void
  /** Waiting events were dropped because the queue was full (`dropped` of them this time). */
  saturated(dropped: number, waiting: number): void
}

interface Deferred {
  promise: Promise<void>
  resolve(): void
}

function deferred(): Deferred {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

/**
 * The engine's one line of work: steps never overlap (findings are applied in order, a tick never
 * interleaves with an event step), and the queue is bounded:
 * - stored events waiting behind the running step are COALESCED into one step (one advance, one store
 *   write for all of them); past `maxWaitingEvents` the oldest waiting events are dropped and
 *   `saturated` is called (detection is behind the store: those events are stored, not judged live;
 *   replay still sees them);
 * - a tick is not queued while another is pending or running: callers share its promise.
 * Pending events run before a pending tick.
 */
export class DetectionQueue {
  #events: RequestEvent[] = []
  #submittedAt = Infinity
  #eventsDone: Deferred | undefined
  #tick: Deferred | undefined
  #tickRunning: Promise<void> | undefined
  #running: Promise<void> | undefined
  #closed = false
  /** Events dropped by the bound so far. */
  dropped = 0

  constructor(
    private readonly steps: DetectionSteps,
    private readonly maxWaitingEvents = 200_000,
  ) {}

  /** Events waiting for a step. */
  get waiting(): number {
    return this.#events.length
  }

  /** Queues stored events; resolves once a step has judged them (or dropped them). */
  events(events: readonly RequestEvent[], submittedAt: number): Promise<void> {
    if (this.#closed || events.length === 0) return Promise.resolve()
    this.#events.push(...events)
    this.#submittedAt = Math.min(this.#submittedAt, submittedAt)
    const over = this.#events.length - this.maxWaitingEvents
    if (over > 0) {
      this.#events.splice(0, over)
      this.dropped += over
      this.steps.saturated(over, this.#events.length)
    }
    this.#eventsDone ??= deferred()
    const p = this.#eventsDone.promise
    this.#kick()
    return p
  }

  /** Asks for a tick; while one is pending or running, returns that one. */
  tick(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    if (this.#tickRunning) return this.#tickRunning
    if (this.#tick) return this.#tick.promise
    const tick = (this.#tick = deferred())
    this.#kick()
    return tick.promise
  }

  /** Resolves when nothing is waiting or running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running
  }

  /** Refuses new work (what is queued still runs). */
  close(): void {
    this.#closed = true
  }

  #kick(): void {
    this.#running ??= this.#afterCaller().finally(() => {
      this.#running = undefined
      if (this.#events.length > 0 || this.#tick) this.#kick()
    })
  }

  /**
   * The steps start on a later turn of the event loop, never inside the caller: `events()` is called by
   * the writer right after a commit, and a step run there (detectors over a whole batch: tens of ms)
   * held back the acks of that batch and the start of the next one. Started after, the next batch's
   * store work runs in the engine's threads while the detectors run here, and what is stored meanwhile
   * coalesces into the same step.
   */
  async #afterCaller(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve))
    await this.#run()
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#events.length > 0) {
        const events = this.#events
        const submittedAt = this.#submittedAt
        const done = this.#eventsDone
        this.#events = []
        this.#submittedAt = Infinity
        this.#eventsDone = undefined
        await this.steps.events(events, submittedAt).catch((err: unknown) => this.steps.failed(err, 'events'))
        done?.resolve()
      } else if (this.#tick) {
        const done = this.#tick
        this.#tick = undefined
        this.#tickRunning = done.promise
        await this.steps.tick().catch((err: unknown) => this.steps.failed(err, 'tick'))
        this.#tickRunning = undefined
        done.resolve()
      } else return
    }
  }
}
