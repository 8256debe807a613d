import type { Command } from 'commander'
import { withClient, withSource, type SourceOptions } from './connect.js'
import type { ReportAlert } from './report-data.js'
import { renderTable } from './table.js'

interface ListOptions extends SourceOptions {
  json?: boolean
}

type AlertView = ReportAlert & { silenced: boolean }
interface RuleView {
  id: string
  scope: { kind: string; id: string }
  action: { action: string; map?: Record<string, string> }
  reason: { kind: string; [k: string]: unknown }
  mode: string
  state: string
  expires_at: string
  ended_by: string | null
}
interface BudgetView {
  name: string
  scope: Record<string, string>
  limit_usd: number
  period: string
  timezone: string
  source: string
}

const minute = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '')
const scopeOf = (s: { kind: string; id: string }) => (s.kind === 'global' ? 'global' : `${s.kind}=${s.id}`)
const actionOf = (a: RuleView['action']) =>
  a.action === 'downgrade'
    ? `downgrade ${Object.entries(a.map ?? {})
        .map(([f, t]) => `${f}->${t}`)
        .join(',')}`
    : a.action

/** `gatewarden alerts`, `gatewarden rules [lift ID]`, `gatewarden budgets`. */
export function registerLists(program: Command, env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): void {
  const configPath = () => program.opts<{ config?: string }>().config
  const print = (o: ListOptions, body: unknown, table: () => string) =>
    out.write(o.json ? `${JSON.stringify(body, null, 2)}\n` : table())

  withSource(
    program
      .command('alerts')
      .description('firing alerts (--all: resolved ones too)')
      .option('--all', 'resolved alerts too')
      .option('--type <type>', 'burn_rate, budget_exhaustion, loop or zombie_agent')
      .option('--json', 'print the API answer as JSON'),
  ).action((o: ListOptions & { all?: boolean; type?: string }) =>
    withClient(o, env, configPath(), async (c) => {
      const body = await c.json<{ alerts: AlertView[] }>('GET', '/api/alerts', {
        state: o.all ? undefined : 'firing',
        type: o.type,
      })
      print(o, body, () =>
        renderTable(
          ['id', 'state', 'severity', 'type', 'scope', 'started (UTC)', 'summary'].map((header) => ({
            header,
          })),
          body.alerts.map((a) => [
            a.id,
            a.silenced ? `${a.state} (silenced)` : a.state,
            a.severity,
            a.type,
            scopeOf(a.scope),
            minute(a.started_at),
            a.summary,
          ]),
        ),
      )
    }),
  )

  const rules = withSource(
    program
      .command('rules')
      .description('guardrail rules in force (--all: history too); `rules lift ID` lifts one')
      .option('--all', 'ended rules too')
      .option('--json', 'print the API answer as JSON'),
  ).action((o: ListOptions & { all?: boolean }) =>
    withClient(o, env, configPath(), async (c) => {
      const body = await c.json<{ rules: RuleView[] }>('GET', '/api/rules', {
        state: o.all ? 'all' : 'active',
      })
      print(o, body, () =>
        renderTable(
          ['id', 'state', 'mode', 'scope', 'action', 'reason', 'expires (UTC)'].map((header) => ({ header })),
          body.rules.map((r) => [
            r.id,
            r.state,
            r.mode,
            scopeOf(r.scope),
            actionOf(r.action),
            r.reason.kind,
            minute(r.expires_at),
          ]),
        ),
      )
    }),
  )
  withSource(
    rules
      .command('lift')
      .description('lift a rule now (gateways drop it at their next poll or push)')
      .argument('<id>', 'the rule id (from `gatewarden rules`)')
      .option('--by <who>', 'who lifts it, for the audit', 'cli')
      .option('--json', 'print the API answer as JSON'),
  ).action((id: string, o: ListOptions & { by: string }) =>
    withClient({ ...rules.opts<SourceOptions>(), ...o }, env, configPath(), async (c) => {
      const r = await c.json<RuleView>('DELETE', `/api/rules/${encodeURIComponent(id)}`, { by: o.by })
      print(o, r, () => `rule ${r.id} ${r.state} (${scopeOf(r.scope)}, ${actionOf(r.action)})\n`)
    }),
  )

  withSource(
    program
      .command('budgets')
      .description('budgets from the config file and from the API')
      .option('--json', 'print the API answer as JSON'),
  ).action((o: ListOptions) =>
    withClient(o, env, configPath(), async (c) => {
      const body = await c.json<{ budgets: BudgetView[] }>('GET', '/api/budgets')
      print(o, body, () =>
        renderTable(
          [
            { header: 'name' },
            { header: 'scope' },
            { header: 'limit_usd', right: true },
            { header: 'period' },
            { header: 'timezone' },
            { header: 'source' },
          ],
          body.budgets.map((b) => [
            b.name,
            Object.entries(b.scope)
              .map(([k, v]) => `${k}=${v}`)
              .join(',') || 'global',
            b.limit_usd.toFixed(2),
            b.period,
            b.timezone,
            b.source,
          ]),
        ),
      )
    }),
  )
}
