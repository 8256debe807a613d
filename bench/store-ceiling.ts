/**
 * The store's raw insert ceiling: the embedded engine inserting the ingest parts' payloads, already
 * mapped, in-process, in batches of 10,000 (no HTTP, no Kafka, no parsing, no dedupe lookup), through
 * the store's own insert (`insertRequestRows`, the figure `store_ceiling.rows_per_s`) and as JSONEachRow.
 */
import type { BenchOptions, BenchPart } from './part.js'
import { trafficPayloads } from './traffic.js'
import { ingestTraffic, storeCeiling } from './workload.js'

export const storeCeilingPart: BenchPart = {
  name: 'store_ceiling',
  async run(opts: BenchOptions) {
    const { quick } = opts
    const log = (line: string) => opts.log(line)
    const payloads = [...trafficPayloads(ingestTraffic(quick))]
    const rate = await storeCeiling(payloads, 'litellm_http', 'rows')
    const json = await storeCeiling(payloads, 'litellm_http', 'json')
    log(
      `embedded store insert of ${payloads.length} pre-mapped rows (batches of 10,000): ${Math.round(rate)} rows/s (the store's insert, insertRequestRows); ${Math.round(json)} rows/s as JSONEachRow`,
    )
    return {
      'store_ceiling.rows': payloads.length,
      'store_ceiling.rows_per_s': Math.round(rate),
      'store_ceiling.json_each_row.rows_per_s': Math.round(json),
    }
  },
}
