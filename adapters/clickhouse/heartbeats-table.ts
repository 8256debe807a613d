import type { ClickHouseClient } from '@clickhouse/client'
import type { LeaderElection } from '../../core/ports/leader-election.js'
import type { StoreClient } from './client.js'
import { insertSettings } from './settings.js'

/** The LeaderElection port on ClickHouse: the detector_heartbeats table. */
export function clickHouseLeaderElection(store: StoreClient): LeaderElection {
  const { client, database } = store
  return {
    beatAndElect: (instance, now, withinMs) => beatAndElect(client, database, instance, now, withinMs),
  }
}

/**
 * Records this instance's heartbeat and returns the budget leader: the smallest instance id among the
 * heartbeats of the last `withinMs`. Every instance reads the same table, so they agree on one leader;
 * when it stops beating, the next one takes over after `withinMs`.
 */
export async function beatAndElect(
  client: ClickHouseClient,
  database: string,
  instance: string,
  now: number,
  withinMs: number,
): Promise<string> {
  await client.insert({
    table: `${database}.detector_heartbeats`,
    values: [{ instance, at: now }],
    format: 'JSONEachRow',
    clickhouse_settings: insertSettings(`beat-${instance}-${now}`),
  })
  const rs = await client.query({
    query: `SELECT min(instance) AS leader FROM ${database}.detector_heartbeats WHERE at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')`,
    query_params: { since: now - withinMs },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ leader: string }>()
  return row?.leader || instance
}
