import type { Command } from 'commander'
import { GatewardenError } from '../../core/errors.js'
import { ATTRIBUTE_DIMENSIONS, CostDimension, CostPeriod, type CostAnswer } from '../../schemas/api.js'
import { costTable } from './cost-table.js'
import { withClient, withSource, type SourceOptions } from './connect.js'

const usage = (message: string) => new GatewardenError('GW_CONFIG_INVALID', message, false)
/** `--model-requested` for `model_requested`: one flag per filterable dimension. */
const flagOf = (d: string) => d.replaceAll('_', '-')
const optionKey = (d: string) => d.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())

interface CostOptions extends SourceOptions {
  by?: string
  period?: string
  from?: string
  to?: string
  timezone?: string
  top?: string
  compare?: boolean
  limit?: string
  json?: boolean
  csv?: boolean
  [filter: string]: unknown
}

/** `--by` checked against the dimensions, with the fix in the message. */
export function parseDimensions(by: string): CostDimension[] {
  const dims = by
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const d of dims)
    if (!CostDimension.safeParse(d).success)
      throw usage(
        `unknown dimension "${d}" in --by: use one or more of ${CostDimension.options.join(', ')} (comma-separated)`,
      )
  if (dims.length === 0)
    throw usage(`--by needs a dimension: one or more of ${CostDimension.options.join(', ')}`)
  return dims as CostDimension[]
}

function checkPeriod(p: string | undefined): string | undefined {
  if (p !== undefined && !CostPeriod.safeParse(p).success)
    throw usage(`unknown period "${p}": use one of ${CostPeriod.options.join(', ')}, or --from/--to`)
  return p
}

/** The /api/cost query the options ask for. */
export function costQuery(
  o: CostOptions,
  dims: readonly CostDimension[],
): Record<string, string | undefined> {
  const q: Record<string, string | undefined> = {
    group_by: dims.join(','),
    period: checkPeriod(o.period),
    from: o.from,
    to: o.to,
    timezone: o.timezone,
    top: o.top,
    compare: o.compare ? 'previous' : undefined,
    limit: o.limit,
    format: o.csv ? 'csv' : undefined,
  }
  for (const d of ATTRIBUTE_DIMENSIONS) {
    const v = o[optionKey(d)]
    if (typeof v === 'string') q[d] = v
  }
  return q
}

function withCostOptions(cmd: Command): Command {
  cmd
    .option('--period <period>', `named period: ${CostPeriod.options.join(', ')}`)
    .option('--from <instant>', 'start (ISO-8601 date or date-time), inclusive')
    .option('--to <instant>', 'end (ISO-8601), exclusive')
    .option('--timezone <tz>', 'IANA time zone of --period (default UTC)')
    .option('--compare', 'add the previous period of the same length (previous_usd, delta_usd, delta_pct)')
    .option('--json', 'print the API answer as JSON')
    .option('--csv', 'print the rows as CSV')
  for (const d of ATTRIBUTE_DIMENSIONS) cmd.option(`--${flagOf(d)} <value>`, `only ${d} = value`)
  return withSource(cmd)
}

async function printCost(
  o: CostOptions,
  dims: CostDimension[],
  env: NodeJS.ProcessEnv,
  configPath: string | undefined,
  out: NodeJS.WritableStream,
): Promise<void> {
  if (o.json && o.csv) throw usage('give --json or --csv, not both')
  const q = costQuery(o, dims)
  await withClient(o, env, configPath, async (c) => {
    if (o.csv) return void out.write(await c.text('/api/cost', q))
    const answer = await c.json<CostAnswer>('GET', '/api/cost', q)
    out.write(o.json ? `${JSON.stringify(answer, null, 2)}\n` : costTable(answer, dims))
  })
}

/** What `top` ranks: customers, endpoints, models (and any other dimension, in the plural). */
const TOP_OF = new Map(ATTRIBUTE_DIMENSIONS.map((d) => [`${d}s`, d]))

/** `gatewarden cost` and `gatewarden top`. */
export function registerCost(program: Command, env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): void {
  const configPath = () => program.opts<{ config?: string }>().config
  withCostOptions(
    program
      .command('cost')
      .description('spend grouped by dimensions, with a total (the numbers of GET /api/cost)')
      .option('--by <dims>', `comma list of ${CostDimension.options.join(', ')}`, 'customer')
      .option('--top <n>', 'keep the n most expensive rows, the rest summed as (other)')
      .option('--limit <n>', 'rows at most (default 10000)'),
  ).action((o: CostOptions) => printCost(o, parseDimensions(o.by ?? 'customer'), env, configPath(), out))

  withCostOptions(
    program
      .command('top')
      .description('the most expensive customers, endpoints or models of a period (default mtd)')
      .argument(
        '<what>',
        'customers, endpoints or models (or teams, keys, agents, providers, model_requesteds)',
      )
      .option('-n, --top <n>', 'how many', '10'),
  ).action((what: string, o: CostOptions) => {
    const dim = TOP_OF.get(what)
    if (!dim) throw usage(`top ${what}: use one of ${[...TOP_OF.keys()].join(', ')}`)
    if (!o.period && !o.from && !o.to) o.period = 'mtd'
    return printCost(o, [dim], env, configPath(), out)
  })
}
