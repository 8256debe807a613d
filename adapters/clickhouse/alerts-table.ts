import type { ClickHouseClient } from '@clickhouse/client'
import type { Alert } from '../../core/alerts/alert.js'
import type { DetectorType } from '../../core/detectors/finding.js'
import type { AlertChange, AlertFilter, AlertStore, StoredAlert } from '../../core/ports/alert-store.js'
import type { Silence } from '../../schemas/silence.js'
import type { StoreClient } from './client.js'
import { insertSettings } from './settings.js'

export type { AlertChange, AlertFilter }

/** The AlertStore port on ClickHouse: alerts and alert_silences. */
export function clickHouseAlertStore(store: StoreClient): AlertStore {
  const { client, database } = store
  return {
    insertChanges: (changes, token) => insertAlertChanges(client, database, changes, token),
    listAlerts: (f) => listAlerts(client, database, f),
    listSilences: (now, includeExpired) => listSilences(client, database, now, includeExpired),
    upsertSilence: (s, deleted, version) => upsertSilence(client, database, s, deleted, version),
  }
}

/** Appends alert state changes (one row each; the latest `updated_at` is the current state). */
export async function insertAlertChanges(
  client: ClickHouseClient,
  database: string,
  changes: readonly AlertChange[],
  token: string,
): Promise<void> {
  if (changes.length === 0) return
  await client.insert({
    table: `${database}.alerts`,
    values: changes.map(({ alert: a, silenced, instance }) => ({
      id: a.id,
      dedupe_key: a.dedupe_key,
      type: a.type,
      severity: a.severity,
      state: a.state,
      scope_kind: a.scope.kind,
      scope_id: a.scope.id,
      started_at: a.started_at,
      resolved_at: a.resolved_at,
      updated_at: a.updated_at,
      summary: a.summary,
      details: JSON.stringify(a.details),
      links: JSON.stringify(a.links),
      silenced,
      instance,
    })),
    format: 'JSONEachRow',
    clickhouse_settings: insertSettings(token),
  })
}

interface AlertRow {
  a_id: string
  a_dedupe_key: string
  a_type: DetectorType
  a_severity: Alert['severity']
  a_state: Alert['state']
  a_scope_kind: Alert['scope']['kind']
  a_scope_id: string
  a_started_at: string
  a_resolved_at: string | null
  a_updated_at: string
  a_summary: string
  a_details: string
  a_links: string
  a_silenced: boolean
}

const ms = (s: string) => Date.parse(`${s.replace(' ', 'T')}Z`)

/** Current state of each alert (latest change; `resolved` wins a tie), newest first. */
export async function listAlerts(
  client: ClickHouseClient,
  database: string,
  f: AlertFilter,
): Promise<StoredAlert[]> {
  // aliases are prefixed: an alias equal to a column name would replace that column inside argMax
  const latest = (col: string) => `argMax(${col}, (updated_at, state)) AS a_${col}`
  const rs = await client.query({
    query: `SELECT id AS a_id, ${['dedupe_key', 'type', 'severity', 'state', 'scope_kind', 'scope_id', 'summary', 'details', 'links', 'silenced'].map(latest).join(', ')},
       toString(min(started_at)) AS a_started_at, toString(argMax(resolved_at, (updated_at, state))) AS a_resolved_at,
       toString(max(updated_at)) AS a_updated_at
FROM ${database}.alerts
WHERE started_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')
  AND ({dedupe_key:String} = '' OR dedupe_key = {dedupe_key:String})
GROUP BY id
HAVING ({state:String} = '' OR toString(a_state) = {state:String}) AND ({type:String} = '' OR a_type = {type:String})
ORDER BY a_started_at DESC, a_id
LIMIT {limit:UInt32}`,
    query_params: {
      since: f.since ?? 0,
      state: f.state ?? '',
      type: f.type ?? '',
      dedupe_key: f.dedupeKey ?? '',
      limit: f.limit,
    },
    format: 'JSONEachRow',
  })
  return (await rs.json<AlertRow>()).map((r) => ({
    id: r.a_id,
    dedupe_key: r.a_dedupe_key,
    type: r.a_type,
    severity: r.a_severity,
    state: r.a_state,
    scope: { kind: r.a_scope_kind, id: r.a_scope_id },
    started_at: ms(r.a_started_at),
    resolved_at: r.a_resolved_at && r.a_resolved_at !== '\\N' ? ms(r.a_resolved_at) : null,
    updated_at: ms(r.a_updated_at),
    summary: r.a_summary,
    details: JSON.parse(r.a_details) as Alert['details'],
    links: JSON.parse(r.a_links) as Alert['links'],
    silenced: Boolean(r.a_silenced),
  }))
}

/** Stores a silence, or a new version of one (edit, delete). */
export async function upsertSilence(
  client: ClickHouseClient,
  database: string,
  s: Silence,
  deleted: boolean,
  version: number,
): Promise<void> {
  await client.insert({
    table: `${database}.alert_silences`,
    values: [{ ...s, matcher: JSON.stringify(s.matcher), deleted, version }],
    format: 'JSONEachRow',
    clickhouse_settings: insertSettings(`silence-${s.id}-${version}`),
  })
}

/** Silences not deleted (expired ones too when `includeExpired`), newest first. */
export async function listSilences(
  client: ClickHouseClient,
  database: string,
  now: number,
  includeExpired = false,
): Promise<Silence[]> {
  const rs = await client.query({
    query: `SELECT id, matcher, comment, created_by, toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(expires_at) AS expires_ms
FROM ${database}.alert_silences FINAL
WHERE NOT deleted AND ({all:UInt8} = 1 OR expires_at > fromUnixTimestamp64Milli({now:Int64}, 'UTC'))
ORDER BY created_at DESC`,
    query_params: { now, all: includeExpired ? 1 : 0 },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{
    id: string
    matcher: string
    comment: string
    created_by: string
    created_ms: string
    expires_ms: string
  }>()
  return rows.map((r) => ({
    id: r.id,
    matcher: JSON.parse(r.matcher) as Silence['matcher'],
    comment: r.comment,
    created_by: r.created_by,
    created_at: Number(r.created_ms),
    expires_at: Number(r.expires_ms),
  }))
}
