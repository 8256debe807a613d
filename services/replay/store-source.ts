import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createStoreClient, type StoreClient } from '../../adapters/clickhouse/client.js'
import { clickHouseEventReader, requestsTableExists } from '../../adapters/clickhouse/requests-table.js'
import { GatewardenError } from '../../core/errors.js'
import type { StoreConfig } from '../../schemas/config.js'
import type { RequestEvent } from '../../schemas/request-event.js'

/** The process holding an embedded data directory, from chdb's own `status` file (PID, start time). */
export interface DataDirHolder {
  pid: number
  startedAt: string
  /** Its command line when the OS shows it (Linux /proc). */
  command: string
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Who holds `dir`, or undefined. chdb (like clickhouse-server) takes an exclusive `flock` on
 * `<dir>/status` and writes its PID there; the file stays after the holder exits, so the PID counts
 * only while that process is alive.
 */
export function dataDirHolder(dir: string): DataDirHolder | undefined {
  let text: string
  try {
    text = readFileSync(join(dir, 'status'), 'utf8')
  } catch {
    return undefined
  }
  const pid = Number(/^PID:\s*(\d+)/m.exec(text)?.[1])
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !alive(pid)) return undefined
  let command = ''
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')
  } catch {
    /* not Linux, or not ours to read */
  }
  return { pid, startedAt: /^Started at:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? '', command }
}

/**
 * Opens the configured store for reading, without creating or migrating anything. The embedded engine
 * allows one process per data directory: chdb refuses a second one (it neither blocks nor corrupts), so
 * while `gatewarden start` runs on the same directory this fails with GW_STORE_UNAVAILABLE naming the
 * holder and what to do instead.
 */
export async function openReplayStore(cfg: StoreConfig, command = 'replay'): Promise<StoreClient> {
  let store: StoreClient
  if (!cfg.clickhouse_url) {
    const dir = resolve(cfg.data_dir)
    if (!existsSync(dir))
      throw new GatewardenError(
        'GW_STORE_UNAVAILABLE',
        `no data directory at ${dir}: nothing was stored there (set GATEWARDEN_DATA_DIR or store.data_dir to the directory \`gatewarden start\` uses)`,
        false,
      )
    const busy = (holder: DataDirHolder, cause?: unknown) => {
      const who = holder.command ? ` (${holder.command})` : ''
      return new GatewardenError(
        'GW_STORE_UNAVAILABLE',
        `data directory ${dir} is in use by process ${holder.pid}${who}, running since ${holder.startedAt || 'an unknown time'}. ` +
          `The embedded store allows one process per directory: stop that process (e.g. the running \`gatewarden start\`) and run ${command} again, ` +
          'or run Gatewarden on a ClickHouse server (CLICKHOUSE_URL), which any number of readers can share.',
        true,
        { cause },
      )
    }
    // asked before opening: chdb itself prints the lock failure to stderr when it finds the directory held
    const held = dataDirHolder(dir)
    if (held) throw busy(held)
    try {
      store = createStoreClient(cfg)
    } catch (err) {
      const holder = dataDirHolder(dir)
      if (holder) throw busy(holder, err)
      throw new GatewardenError(
        'GW_STORE_UNAVAILABLE',
        `cannot open the embedded store in ${dir}: ${(err as Error).message}`,
        false,
        { cause: err },
      )
    }
  } else store = createStoreClient(cfg)

  try {
    if (!(await requestsTableExists(store)))
      throw new GatewardenError(
        'GW_STORE_UNAVAILABLE',
        `no ${store.database}.requests table in ${store.location}: nothing was stored there (check store.database / CLICKHOUSE_DATABASE)`,
        false,
      )
  } catch (err) {
    await store.client.close()
    if (err instanceof GatewardenError) throw err
    throw new GatewardenError(
      'GW_STORE_UNAVAILABLE',
      `cannot query the store at ${store.location}: ${(err as Error).message}`,
      true,
      { cause: err },
    )
  }
  return store
}

/** Number of stored events with `ts` in [fromTs, toTs) (the progress bar's total). */
export function countEvents(store: StoreClient, fromTs: number, toTs: number): Promise<number> {
  return clickHouseEventReader(store).countEvents(fromTs, toTs)
}

/** Stored events with `ts` in [fromTs, toTs), in event-time order, one at a time. */
export async function* storeEvents(
  store: StoreClient,
  fromTs: number,
  toTs: number,
  pageSize = 10_000,
): AsyncGenerator<RequestEvent> {
  for await (const page of clickHouseEventReader(store).readEvents(fromTs, toTs, pageSize)) yield* page
}
