import { monthRange } from '../../core/cost-period.js'
import { shapeCost } from '../../core/cost-rows.js'
import { GatewardenError } from '../../core/errors.js'
import type { CostAnswer, CostDimension, CostRow } from '../../schemas/api.js'
import type { ApiClient } from './api-client.js'

/** An alert as /api/alerts lists it (the fields the report shows). */
export interface ReportAlert {
  id: string
  type: string
  severity: string
  state: string
  scope: { kind: string; id: string }
  started_at: string
  resolved_at: string | null
  summary: string
}

/** A rule as /api/rules lists it (the fields the report shows). */
export interface ReportRule {
  id: string
  state: string
  mode: string
  action: { action: string; map?: Record<string, string> }
  reason: { kind: string }
  created_at: string
  updated_at: string
  expires_at: string
  ended_by: string | null
}

/** Everything a customer's monthly report shows, gathered from the API. */
export interface CustomerReport {
  customer: string
  month: string
  timezone: string
  from: string
  to: string
  previous: { from: string; to: string }
  /** With previous_cost_usd, delta_usd, delta_pct against the previous month. */
  total: CostRow
  byModel: CostRow[]
  byEndpoint: CostRow[]
  /** The most expensive days (UTC days), most expensive first. */
  topDays: CostRow[]
  /** Alerts on the customer open at any time in the month; undefined when alerting is off. */
  alerts: ReportAlert[] | undefined
  /** Rules on the customer in force at any time in the month; undefined when enforcement is off. */
  rules: ReportRule[] | undefined
  generatedAt: string
}

const iso = (ms: number) => new Date(ms).toISOString()
/** Whether [start, end) (end null = still open) overlaps [from, to). */
const overlaps = (start: string, end: string | null, from: number, to: number) =>
  Date.parse(start) < to && (end === null || Date.parse(end) >= from)

/** The answer of an optional part of the API (alerts, rules), or undefined when it is off (404). */
async function optional<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get()
  } catch (err) {
    if (err instanceof GatewardenError && /GW_NOT_FOUND|GW_ENFORCEMENT_OFF/.test(err.message))
      return undefined
    throw err
  }
}

/**
 * Gathers `customer`'s report for `month` (YYYY-MM in `timezone`) through the API: spend by model and
 * endpoint against the previous calendar month, the top days, and the alerts and rules on the customer.
 */
export async function gatherReport(
  c: ApiClient,
  customer: string,
  month: string,
  timezone: string,
  nowMs: number,
): Promise<CustomerReport> {
  const m = monthRange(month, timezone)
  if (!m)
    throw new GatewardenError(
      'GW_CONFIG_INVALID',
      `--month ${JSON.stringify(month)}: use YYYY-MM, e.g. 2026-10`,
      false,
    )
  const cost = (group_by: string, fromMs: number, toMs: number, limit = '10000') =>
    c.json<CostAnswer>('GET', '/api/cost', { group_by, customer, from: iso(fromMs), to: iso(toMs), limit })
  const compared = async (dim: CostDimension) => {
    const [cur, prev] = [
      await cost(dim, m.fromMs, m.toMs),
      await cost(dim, m.previous.fromMs, m.previous.toMs),
    ]
    return shapeCost(cur, { dims: [dim], limit: 10_000, previous: prev })
  }
  const byModel = await compared('model')
  const byEndpoint = await compared('endpoint')
  const days = await cost('day', m.fromMs, m.toMs, '5')
  const alerts = await optional(() =>
    c.json<{ alerts: ReportAlert[] }>('GET', '/api/alerts', { limit: '10000' }),
  )
  const rules = await optional(() =>
    c.json<{ rules: ReportRule[] }>('GET', '/api/rules', {
      state: 'all',
      scope_kind: 'customer',
      scope_id: customer,
      limit: '10000',
    }),
  )
  return {
    customer,
    month,
    timezone,
    from: iso(m.fromMs),
    to: iso(m.toMs),
    previous: { from: iso(m.previous.fromMs), to: iso(m.previous.toMs) },
    total: byModel.total,
    byModel: byModel.rows,
    byEndpoint: byEndpoint.rows,
    topDays: days.rows,
    alerts: alerts?.alerts.filter(
      (a) =>
        a.scope.kind === 'customer' &&
        a.scope.id === customer &&
        overlaps(a.started_at, a.resolved_at, m.fromMs, m.toMs),
    ),
    rules: rules?.rules.filter((r) =>
      overlaps(r.created_at, r.ended_by === null ? null : r.updated_at, m.fromMs, m.toMs),
    ),
    generatedAt: iso(nowMs),
  }
}
