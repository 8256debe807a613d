/**
 * The contract of every long-lived part (detection engine, dispatcher, batch writer, Kafka source, HTTP
 * listener, store):
 * - `start()` acquires what the part needs (listeners, timers, restored state);
 * - `shutdown` is safe on a part never started or whose start rejected (it releases what construction
 *   or the half-done start holds): that is how a failed start closes everything;
 * - `flush()` finishes the work accepted so far (writes, deliveries, detection steps) without refusing more;
 * - `shutdown(timeoutMs)` refuses new work, drains what is under way for at most `timeoutMs`, releases
 *   everything (timers, sockets) and resolves; it MUST resolve within about `timeoutMs` even when
 *   draining does not finish, and a second call returns the first one's promise.
 * Parts stop in the reverse order of their start (sources first, the store last).
 */
export interface Lifecycle {
  start(): Promise<void>
  flush(): Promise<void>
  shutdown(timeoutMs: number): Promise<void>
}

/** A part as the service wires it: a name for logs, and its lifecycle. */
export interface NamedPart {
  name: string
  part: Lifecycle
}
