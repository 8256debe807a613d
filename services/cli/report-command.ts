import type { Command } from 'commander'
import { GatewardenError } from '../../core/errors.js'
import { TimeZone } from '../../schemas/policy.js'
import { withClient, withSource, type SourceOptions } from './connect.js'
import { gatherReport } from './report-data.js'
import { reportHtml, reportMarkdown } from './report-render.js'

interface ReportOptions extends SourceOptions {
  customer: string
  month: string
  format: string
  timezone: string
}

/** `gatewarden report --customer acme --month 2026-10 [--format md|html]`. */
export function registerReport(program: Command, env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): void {
  withSource(
    program
      .command('report')
      .description(
        "one customer's month: spend by model and endpoint, top days, change against the month before, alerts and rules",
      )
      .requiredOption('--customer <id>', 'the customer ("" for unattributed spend)')
      .requiredOption('--month <YYYY-MM>', 'the calendar month')
      .option('--format <format>', 'md or html (one self-contained file)', 'md')
      .option('--timezone <tz>', 'IANA time zone of the month', 'UTC'),
  ).action(async (o: ReportOptions) => {
    if (o.format !== 'md' && o.format !== 'html')
      throw new GatewardenError('GW_CONFIG_INVALID', `--format ${o.format}: use md or html`, false)
    if (!TimeZone.safeParse(o.timezone).success)
      throw new GatewardenError(
        'GW_CONFIG_INVALID',
        `--timezone ${o.timezone}: use an IANA name such as UTC or Europe/Paris`,
        false,
      )
    await withClient(o, env, program.opts<{ config?: string }>().config, async (c) => {
      const report = await gatherReport(c, o.customer, o.month, o.timezone, Date.now())
      out.write(o.format === 'html' ? reportHtml(report) : reportMarkdown(report))
    })
  })
}
