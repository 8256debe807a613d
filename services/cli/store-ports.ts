import { resolve } from 'node:path'
import type { Logger } from 'pino'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { clickHouseAlertStore } from '../../adapters/clickhouse/alerts-table.js'
import { clickHouseBudgetStore } from '../../adapters/clickhouse/budgets-table.js'
import { clickHouseCostReader } from '../../adapters/clickhouse/cost-query.js'
import { listDeadLetters } from '../../adapters/clickhouse/dead-letters-table.js'
import { clickHouseRuleStore } from '../../adapters/clickhouse/rules-table.js'
import { buildApp } from '../../adapters/http/app.js'
import type { HttpPorts } from '../../adapters/http/ports.js'
import { GatewardenError } from '../../core/errors.js'
import type { Config } from '../../schemas/config.js'
import { MINUTE_ROLLUP_TTL_DAYS } from '../../schemas/migrations/003-spend-rollups.js'
import { costApi } from '../cost/cost-api.js'
import { alertApi } from '../detect/alert-api.js'
import { budgetApi } from '../detect/budget-api.js'
import { openReplayStore } from '../replay/store-source.js'
import { injectClient, type ApiClient } from './api-client.js'

const readOnly = (what: string) =>
  new GatewardenError(
    'GW_BAD_REQUEST',
    `--store is read-only: ${what} needs a running Gatewarden (drop --store, pass --url)`,
    false,
  )

/** The API's ports on a store opened for reading: every read as the server answers it, every write refused. */
function readOnlyPorts(store: StoreClient, config: Config, log: Logger, now: () => number): HttpPorts {
  const alerts = alertApi(clickHouseAlertStore(store), now)
  const rules = clickHouseRuleStore(store.client, store.database)
  const budgets = budgetApi({
    store: clickHouseBudgetStore(store.client, store.database),
    configured: config.budgets,
    gatewayModels: config.enforcement.gateway_models,
    now,
  })
  const refuse = (what: string) => () => Promise.reject(readOnly(what))
  return {
    log,
    server: { ...config.server, auth_token: undefined },
    ingestLiteLLM: refuse('ingest'),
    ingestOtlp: refuse('ingest'),
    cost: costApi(clickHouseCostReader(store), now, MINUTE_ROLLUP_TTL_DAYS),
    deadLetters: (limit, source) => listDeadLetters(store.client, store.database, limit, source),
    health: () => Promise.resolve({ ok: true, store: 'ok', store_kind: store.kind, pending_rows: 0 }),
    metrics: (_req, res) => res.writeHead(404).end(),
    alerts: {
      list: (q) => alerts.list(q),
      silences: (all) => alerts.silences(all),
      createSilence: refuse('a silence'),
      deleteSilence: refuse('a silence'),
    },
    rules: {
      active: () => {
        throw readOnly('the active set (held by the running enforcer)')
      },
      list: (f) => rules.list(f),
      get: async (id) => {
        const rule = await rules.get(id)
        return rule ? { rule, events: await rules.events(id) } : undefined
      },
      create: refuse('a rule'),
      lift: refuse('lifting a rule'),
    },
    budgets: {
      list: () => budgets.list(),
      get: (name) => budgets.get(name),
      put: refuse('a budget change'),
      remove: refuse('a budget change'),
    },
  }
}

/**
 * The `--store` mode: the configured store opened for reading (nothing created or migrated; refused
 * with the holder's PID while a running Gatewarden holds the embedded data directory) behind the same
 * routes as the server, answered in-process.
 */
export async function storeClient(config: Config, log: Logger, dataDir?: string): Promise<ApiClient> {
  const cfg = dataDir ? { ...config.store, data_dir: dataDir, clickhouse_url: undefined } : config.store
  const store = await openReplayStore(cfg, 'the command')
  const app = buildApp(readOnlyPorts(store, config, log, Date.now))
  await app.ready()
  const where = store.kind === 'embedded' ? `store ${resolve(cfg.data_dir)}` : `store ${store.location}`
  return injectClient(where, app, async () => {
    await app.close()
    await store.client.close()
  })
}
