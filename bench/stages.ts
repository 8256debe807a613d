/**
 * The in-process stages of ingest, one at a time on one thread, over the ingest parts' payloads (the same
 * bytes as the parse ceiling): JSON.parse, the LiteLLM mapper (zod, fingerprint, labels), the RowBinary
 * encoding the embedded store's insert takes, and the detectors (a `DetectorRunner` with the default
 * config and fire on arrival, as `gatewarden start` runs it). Each in microseconds per event, the best of
 * 3 rounds: what the JS side of the pipeline costs per event, beside the child's measured CPU per event
 * (`http.cpu_us_per_event.*`) where the rest is the engine, GC, HTTP and the thread hand-offs.
 */
import { requestRows } from '../adapters/clickhouse/row-binary.js'
import { DetectorRunner } from '../core/detectors/runner.js'
import { mapLiteLLMPayload } from '../core/ingest/litellm/mapper.js'
import { DetectorsConfig } from '../schemas/policy.js'
import type { RequestEvent } from '../schemas/request-event.js'
import type { BenchOptions, BenchPart } from './part.js'
import { trafficJson } from './traffic.js'
import { benchMapper, ingestTraffic, r3 } from './workload.js'

const ROUNDS = 3
/** Rows per RowBinary encoding: about what the writer batches under load. */
const ENCODE_BATCH = 1_024

export const stagesPart: BenchPart = {
  name: 'stages',
  async run(opts: BenchOptions) {
    const strings = trafficJson(ingestTraffic(opts.quick))
    const n = strings.length
    const mapper = benchMapper()
    const detectors = DetectorsConfig.parse({})
    const best = { parse: Infinity, map: Infinity, encode: Infinity, detect: Infinity }
    let sink = 0
    for (let round = 0; round < ROUNDS; round++) {
      let t = performance.now()
      const payloads = strings.map((s) => JSON.parse(s) as unknown)
      best.parse = Math.min(best.parse, performance.now() - t)

      t = performance.now()
      const events: RequestEvent[] = []
      for (const p of payloads) {
        const r = mapLiteLLMPayload(p, mapper)
        if (!r.ok) throw new Error(`bench payload did not map: ${r.reason}`)
        events.push(r.event)
      }
      best.map = Math.min(best.map, performance.now() - t)

      t = performance.now()
      for (let i = 0; i < n; i += ENCODE_BATCH) sink += requestRows(events.slice(i, i + ENCODE_BATCH)).length
      best.encode = Math.min(best.encode, performance.now() - t)

      const runner = new DetectorRunner({ budgets: [], detectors }, { fireOnArrival: true })
      t = performance.now()
      for (const e of events) sink += runner.push(e).length
      best.detect = Math.min(best.detect, performance.now() - t)
    }
    const us = (ms: number) => r3((ms * 1000) / n)
    const figures = {
      'stages.events': n,
      'stages.json_parse_us_per_event': us(best.parse),
      'stages.map_us_per_event': us(best.map),
      'stages.row_binary_us_per_event': us(best.encode),
      'stages.detect_us_per_event': us(best.detect),
      'stages.sum_us_per_event': us(best.parse + best.map + best.encode + best.detect),
    }
    opts.log(
      `${n} events, best of ${ROUNDS}: JSON.parse ${figures['stages.json_parse_us_per_event']} us, map ${figures['stages.map_us_per_event']} us, RowBinary ${figures['stages.row_binary_us_per_event']} us, detectors ${figures['stages.detect_us_per_event']} us per event (checksum ${sink})`,
    )
    return figures
  },
}
