import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import type { GatewayTarget, TargetOutcome } from '../../core/ports/gateway-target.js'
import type { Rule } from '../../schemas/rule.js'
import { origin } from '../alerts/http-delivery.js'
import { redactor, type Redactor } from '../alerts/redact.js'
import { GatewayTargetError, requestWithRetry, toOutcome, type TargetHttpOptions } from './target-http.js'

/** Where a rule's record lives in a key's or team's metadata. */
export const RULES_METADATA_KEY = 'gatewarden_rules'

/** What a rule changed, kept in the key's or team's metadata so `remove` can undo exactly that. */
interface RuleRecord {
  action: 'downgrade' | 'block'
  expires_at: number
  /** Downgrade: each aliased model's value before the rule (null: there was none). */
  previous?: Record<string, string | null>
  /** Downgrade: what the rule set, to tell our alias from one changed since. */
  set?: Record<string, string>
  /** Block: whether the key or team was blocked before the rule. */
  was_blocked?: boolean
}

type Json = Record<string, unknown>
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {})
/** LiteLLM stores aliases as a JSON column; older rows answer a JSON string. */
const aliasMap = (v: unknown): Record<string, string> => {
  let m: unknown = v
  if (typeof v === 'string') {
    try {
      m = JSON.parse(v)
    } catch {
      m = {}
    }
  }
  return Object.fromEntries(
    Object.entries(obj(m)).filter((e): e is [string, string] => typeof e[1] === 'string'),
  )
}
const KEY_HASH = /^[a-f0-9]{64}$/i

/** The state of one key or team as the admin API shows it. */
interface Holder {
  aliases: Record<string, string>
  metadata: Json
  blocked: boolean
}

/** One scope kind on the admin API: how to read it and write aliases + metadata back. */
interface HolderRoutes {
  what: string
  info: (id: string) => { path: string; pick: (body: Json) => Holder }
  update: (
    id: string,
    aliases: Record<string, string> | undefined,
    metadata: Json,
  ) => { path: string; body: Json }
  block: (id: string) => { path: string; body: Json }
  unblock: (id: string) => { path: string; body: Json }
}

const KEY_ROUTES: HolderRoutes = {
  what: 'key',
  info: (id) => ({
    path: `/key/info?key=${encodeURIComponent(id)}`,
    pick: (b) => {
      const info = obj(b.info)
      return { aliases: aliasMap(info.aliases), metadata: obj(info.metadata), blocked: info.blocked === true }
    },
  }),
  update: (key, aliases, metadata) => ({
    path: '/key/update',
    body: { key, ...(aliases ? { aliases } : {}), metadata },
  }),
  block: (key) => ({ path: '/key/block', body: { key } }),
  unblock: (key) => ({ path: '/key/unblock', body: { key } }),
}

const TEAM_ROUTES: HolderRoutes = {
  what: 'team',
  info: (id) => ({
    path: `/team/info?team_id=${encodeURIComponent(id)}`,
    pick: (b) => {
      const t = obj(b.team_info)
      return {
        aliases: aliasMap(obj(t.litellm_model_table).model_aliases),
        metadata: obj(t.metadata),
        blocked: t.blocked === true,
      }
    },
  }),
  update: (team_id, aliases, metadata) => ({
    path: '/team/update',
    body: { team_id, ...(aliases ? { model_aliases: aliases } : {}), metadata },
  }),
  block: (team_id) => ({ path: '/team/block', body: { team_id } }),
  unblock: (team_id) => ({ path: '/team/unblock', body: { team_id } }),
}

/**
 * Pushes rules into a DB-backed LiteLLM proxy through its admin API (master key as Bearer).
 * - key (scope id = the key's sha256 hash, as ingest records it) and team: a downgrade merges the map
 *   into the key's `aliases` / the team's `model_aliases`; a block calls `/key/block` / `/team/block`.
 *   What the rule changed (previous alias values, whether it was already blocked) is recorded under
 *   `metadata.gatewarden_rules.<rule id>`, read-modify-written since LiteLLM replaces `metadata`
 *   wholesale; `remove` undoes exactly that and drops the record.
 * - customer: block only (`/customer/block`; removed with `/customer/update {blocked: false}`, since
 *   `/customer/unblock` only edits an in-memory list and leaves the stored flag set).
 * - not expressible: a customer downgrade, a `*` map entry (aliases are exact model names), and the
 *   endpoint, agent and model scopes: `supports()` is false and the LiteLLM hook enforces them.
 */
export class LiteLLMAdminTarget implements GatewayTarget {
  private readonly redact: Redactor
  private readonly where: string

  constructor(
    readonly name: string,
    private readonly baseUrl: string,
    private readonly masterKey: string,
    private readonly opts: TargetHttpOptions,
    private readonly log: Logger,
  ) {
    // LiteLLM's auth errors may echo the key's sha256 (`key=<hash>, not found in db`): scrub it too
    this.redact = redactor([masterKey, createHash('sha256').update(masterKey).digest('hex')])
    this.baseUrl = baseUrl.replace(/\/+$/, '')
    this.where = `${name} at ${origin(baseUrl)}`
  }

  supports(rule: Rule): boolean {
    const { kind, id } = rule.scope
    const downgradable = rule.action.action === 'downgrade' && !Object.hasOwn(rule.action.map, '*')
    if (kind === 'key') return KEY_HASH.test(id) && (rule.action.action === 'block' || downgradable)
    if (kind === 'team') return rule.action.action === 'block' || downgradable
    if (kind === 'customer') return rule.action.action === 'block'
    return false
  }

  apply(rule: Rule): Promise<TargetOutcome> {
    return toOutcome(async () => {
      this.check(rule)
      const { kind, id } = rule.scope
      if (kind === 'customer') {
        await this.call('POST', '/customer/block', { user_ids: [id] })
        return `customer ${id} blocked`
      }
      const routes = kind === 'key' ? KEY_ROUTES : TEAM_ROUTES
      return rule.action.action === 'block'
        ? this.applyBlock(routes, rule)
        : this.applyDowngrade(routes, rule, rule.action.map)
    })
  }

  remove(rule: Rule): Promise<TargetOutcome> {
    return toOutcome(async () => {
      this.check(rule)
      const { kind, id } = rule.scope
      if (kind === 'customer') {
        const res = await this.call('POST', '/customer/update', { user_id: id, blocked: false }, [404])
        return res === null ? `customer ${id} not found: nothing to unblock` : `customer ${id} unblocked`
      }
      return this.removeRecord(kind === 'key' ? KEY_ROUTES : TEAM_ROUTES, rule)
    })
  }

  private check(rule: Rule): void {
    if (!this.supports(rule)) {
      const what = `${rule.action.action} of ${rule.scope.kind} ${rule.scope.id}`
      throw new GatewayTargetError(
        'GW_TARGET_UNSUPPORTED',
        `${this.where}: the LiteLLM admin API cannot express a ${what}`,
        false,
        null,
        'unsupported',
      )
    }
  }

  private async read(routes: HolderRoutes, id: string, missingOk: boolean): Promise<Holder | null> {
    const info = routes.info(id)
    const body = await this.call('GET', info.path, undefined, missingOk ? [404] : [])
    return body === null ? null : info.pick(body)
  }

  private async writeBack(
    routes: HolderRoutes,
    id: string,
    h: Holder,
    records: Record<string, RuleRecord>,
    aliases?: Record<string, string>,
  ): Promise<void> {
    const metadata: Json = { ...h.metadata }
    if (Object.keys(records).length) metadata[RULES_METADATA_KEY] = records
    else delete metadata[RULES_METADATA_KEY]
    const u = routes.update(id, aliases, metadata)
    await this.call('POST', u.path, u.body)
  }

  private async applyDowngrade(
    routes: HolderRoutes,
    rule: Rule,
    map: Record<string, string>,
  ): Promise<string> {
    const id = rule.scope.id
    const h = (await this.read(routes, id, false))!
    const records = recordsOf(h.metadata)
    // a re-drive keeps the values captured the first time: the aliases now already hold ours
    const previous =
      records[rule.id]?.previous ?? Object.fromEntries(Object.keys(map).map((m) => [m, h.aliases[m] ?? null]))
    const merged = { ...h.aliases, ...map }
    const unchanged =
      Object.entries(map).every(([m, to]) => h.aliases[m] === to) && records[rule.id] !== undefined
    if (unchanged) return `${routes.what} ${short(id)} already downgraded (${describeMap(map)})`
    records[rule.id] = { action: 'downgrade', expires_at: rule.expires_at, previous, set: { ...map } }
    await this.writeBack(routes, id, h, records, merged)
    this.log.info({ rule: rule.id, scope: routes.what, models: Object.keys(map) }, 'gateway aliases merged')
    return `${routes.what} ${short(id)} aliases ${describeMap(map)}`
  }

  private async applyBlock(routes: HolderRoutes, rule: Rule): Promise<string> {
    const id = rule.scope.id
    const h = (await this.read(routes, id, false))!
    const records = recordsOf(h.metadata)
    if (!records[rule.id]) {
      // the record first: a crash before the block leaves a record a re-drive completes
      records[rule.id] = { action: 'block', expires_at: rule.expires_at, was_blocked: h.blocked }
      await this.writeBack(routes, id, h, records)
    }
    if (h.blocked) return `${routes.what} ${short(id)} already blocked`
    const b = routes.block(id)
    await this.call('POST', b.path, b.body)
    this.log.info({ rule: rule.id, scope: routes.what }, 'gateway scope blocked')
    return `${routes.what} ${short(id)} blocked`
  }

  private async removeRecord(routes: HolderRoutes, rule: Rule): Promise<string> {
    const id = rule.scope.id
    const h = await this.read(routes, id, true)
    if (h === null) return `${routes.what} ${short(id)} not found: nothing to restore`
    const records = recordsOf(h.metadata)
    const rec = records[rule.id]
    if (!rec) return `${routes.what} ${short(id)} holds no record of ${rule.id}: nothing to restore`
    delete records[rule.id]
    if (rec.action === 'block') {
      const otherBlock = Object.values(records).some((r) => r.action === 'block')
      if (h.blocked && !rec.was_blocked && !otherBlock) {
        const u = routes.unblock(id)
        await this.call('POST', u.path, u.body)
      }
      await this.writeBack(routes, id, h, records)
      return `${routes.what} ${short(id)} ${rec.was_blocked || otherBlock ? 'left blocked' : 'unblocked'}`
    }
    const aliases = { ...h.aliases }
    for (const [m, before] of Object.entries(rec.previous ?? {})) {
      // only an alias still holding what the rule set is ours to restore
      if (aliases[m] !== rec.set?.[m]) continue
      if (before === null) delete aliases[m]
      else aliases[m] = before
    }
    await this.writeBack(routes, id, h, records, aliases)
    return `${routes.what} ${short(id)} aliases restored`
  }

  /**
   * One admin call under the retry policy; the parsed JSON answer, or null when its status is in
   * `missing` (e.g. 404 on remove: nothing left to undo).
   */
  private async call(
    method: 'GET' | 'POST',
    path: string,
    body?: Json,
    missing: number[] = [],
  ): Promise<Json | null> {
    const route = path.split('?')[0]!
    const label = `${this.where}: ${method} ${route}`
    let answer
    try {
      answer = await requestWithRetry(
        {
          method,
          url: this.baseUrl + path,
          label,
          headers: { authorization: `Bearer ${this.masterKey}` },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        },
        this.opts,
        this.redact,
        this.log,
      )
    } catch (err) {
      if (err instanceof GatewayTargetError && err.status !== null && missing.includes(err.status))
        return null
      throw err
    }
    try {
      return obj(JSON.parse(answer.body))
    } catch {
      const what = `${label} answered ${answer.status} with a body that is not JSON`
      throw new GatewayTargetError('GW_TARGET_BAD_ANSWER', what, false, answer.status, String(answer.status))
    }
  }
}

/** The rule records in a metadata object; entries that are not objects (edited by hand) are dropped. */
function recordsOf(metadata: Json): Record<string, RuleRecord> {
  const all = Object.entries(obj(metadata[RULES_METADATA_KEY]))
  return Object.fromEntries(all.filter(([, r]) => Object.keys(obj(r)).length > 0)) as Record<
    string,
    RuleRecord
  >
}

/** `gpt-4o->gpt-4o-mini, o1->o1-mini` */
function describeMap(map: Record<string, string>): string {
  return Object.entries(map)
    .map(([a, b]) => `${a}->${b}`)
    .join(', ')
}

/** A key hash shortened for answers (`…a1b2c3d4`); team ids as they are. */
function short(id: string): string {
  return KEY_HASH.test(id) ? `…${id.slice(-8)}` : id
}
