/**
 * The parse ceiling (issue 10): one core JSON.parse-ing the ingest parts' payloads, one object at a time,
 * from the JSON strings HTTP and Kafka send (the same generator options, so the same bytes), the best of
 * 5 rounds after a warm-up (the median beside it). The true ceiling of a JSON pipeline: the HTTP and Kafka
 * parts quote `ratio_to_parse_ceiling` against it (the runner computes the ratios after every part ran,
 * from this run's figure).
 */
import type { BenchOptions, BenchPart } from './part.js'
import { trafficJson } from './traffic.js'
import { ingestTraffic, r3 } from './workload.js'

const ROUNDS = 5

export const parseCeiling: BenchPart = {
  name: 'parse_ceiling',
  async run(opts: BenchOptions) {
    const { quick } = opts
    const log = (line: string) => opts.log(line)
    const strings = trafficJson(ingestTraffic(quick))
    const bytes = strings.reduce((a, s) => a + Buffer.byteLength(s), 0)
    let sink = 0
    const pass = () => {
      const t = performance.now()
      for (const s of strings) sink += (JSON.parse(s) as { response_cost: number }).response_cost
      return (performance.now() - t) / 1000
    }
    pass() // warm-up: the parser's and the allocator's
    const secs = Array.from({ length: ROUNDS }, pass).sort((a, b) => a - b)
    const median = secs[Math.floor(ROUNDS / 2)]!
    log(
      `JSON.parse of ${strings.length} payloads (${Math.round(bytes / strings.length)} B mean), ${ROUNDS} rounds after a warm-up: median ${median.toFixed(3)} s, best ${secs[0]!.toFixed(3)} s (checksum ${sink.toFixed(2)})`,
    )
    return {
      'parse_ceiling.events': strings.length,
      'parse_ceiling.payload_bytes.mean': Math.round(bytes / strings.length),
      // the best round: other load only ever slows a round down, and the ceiling is what one core can do
      'parse_ceiling.events_per_s': Math.round(strings.length / secs[0]!),
      'parse_ceiling.us_per_event': r3((secs[0]! * 1e6) / strings.length),
      'parse_ceiling.events_per_s.median': Math.round(strings.length / median),
      'parse_ceiling.mib_per_s': r3(bytes / 1048576 / secs[0]!),
    }
  },
}
