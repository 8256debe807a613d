/**
 * The contract between `npm run bench` (bench/run.ts) and each benchmark part. A part measures one thing
 * (ingest over HTTP, Kafka, detection, memory, queries, replay, start-up) and returns flat figures whose
 * names carry their unit (`http.end_to_end.events_per_s`, `detection.loop.latency_ms.p99`,
 * `memory.rss_mib`, `query.customer_month.p50_ms`); the runner prints them and writes them to
 * `bench/results/<UTC timestamp>.json`.
 */

/** What every part is given. */
export interface BenchOptions {
  /** The small run (`npm run bench -- --quick`): every part together in under 3 minutes. */
  quick: boolean
  /** One progress or result line for the console (the runner prefixes the part's name). */
  log(line: string): void
  /**
   * `--profile`: where this part writes the CPU profiles of the Gatewarden it starts (bench/profile.ts);
   * parts that start none ignore it.
   */
  profileDir?: string
}

/** Flat figures, unit in the name; strings for what is not a number (a version, a note). */
export type BenchFigures = Record<string, number | string | boolean>

/** One benchmark part. */
export interface BenchPart {
  /** Short name, also the prefix of its figures (`http`, `kafka`, `detection`, `query`, ...). */
  name: string
  run(opts: BenchOptions): Promise<BenchFigures>
}
