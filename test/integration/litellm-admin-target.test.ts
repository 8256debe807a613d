import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { LiteLLMAdminTarget } from '../../adapters/gateway/litellm-admin-target.js'
import type { TargetOutcome } from '../../core/ports/gateway-target.js'
import type { Rule } from '../../schemas/rule.js'
import { startAdminContract, type AdminContract } from '../support/litellm-admin-contract.js'
import { instantClock, makeRule } from '../support/rules.js'

/**
 * The LiteLLM admin API target against the RECORDED CONTRACT of LiteLLM 1.108.7's admin routes
 * (test/fixtures/litellm-admin): no DB-backed proxy can run offline here (Prisma fetches its engines).
 */
const MASTER = 'sk-master-THIS-MUST-NOT-LEAK-42'
const KEY = 'a1'.repeat(32)
const retry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, deadlineMs: 60_000 }

const logLines: string[] = []
const log = pino({ level: 'debug' }, { write: (s: string) => void logLines.push(s) })
const outcomes: TargetOutcome[] = []
let lite: AdminContract
let target: LiteLLMAdminTarget

const record = async (p: Promise<TargetOutcome>): Promise<TargetOutcome> => {
  const o = await p
  outcomes.push(o)
  return o
}
const apply = (r: Rule) => record(target.apply(r))
const remove = (r: Rule) => record(target.remove(r))
const writes = (route: string) => lite.calls.filter((c) => c.route === route && c.status === 200).length

before(async () => {
  lite = await startAdminContract(MASTER)
  target = new LiteLLMAdminTarget(
    'litellm-admin',
    `${lite.url}/`,
    MASTER,
    { timeoutMs: 5_000, retry, clock: instantClock },
    log,
  )
})
after(async () => {
  await lite.close()
  // the master key never leaves the Authorization header: not in any outcome nor any log line
  const all = JSON.stringify(outcomes) + logLines.join('\n')
  assert.ok(outcomes.length > 10 && logLines.length > 0)
  assert.ok(!all.includes(MASTER), 'master key leaked')
  assert.ok(!all.includes('THIS-MUST-NOT-LEAK'), 'master key leaked')
})

const downgradeKey = makeRule({
  id: 'rule-kd',
  scope: { kind: 'key', id: KEY },
  action: { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini', 'claude-3-5-sonnet': 'claude-3-haiku' } },
})

test('key downgrade: aliases merged, re-apply is a no-op, remove restores exactly, twice is fine', async () => {
  const aliases = { 'gpt-4o': 'gpt-4o-2024-08-06', o1: 'o1-mini' }
  const metadata = { owner: 'search', nested: { a: 1 } }
  lite.keys.set(KEY, {
    key_alias: 'ci',
    aliases: { ...aliases },
    metadata: structuredClone(metadata),
    blocked: null,
    team_id: null,
  })

  assert.equal(target.supports(downgradeKey), true)
  const o = await apply(downgradeKey)
  assert.equal(o.ok, true, JSON.stringify(o))
  const row = lite.keys.get(KEY)!
  assert.deepEqual(row.aliases, {
    'gpt-4o': 'gpt-4o-mini',
    o1: 'o1-mini',
    'claude-3-5-sonnet': 'claude-3-haiku',
  })
  assert.deepEqual(row.metadata.owner, 'search')
  assert.deepEqual((row.metadata.gatewarden_rules as Record<string, unknown>)['rule-kd'], {
    action: 'downgrade',
    expires_at: downgradeKey.expires_at,
    previous: { 'gpt-4o': 'gpt-4o-2024-08-06', 'claude-3-5-sonnet': null },
    set: { 'gpt-4o': 'gpt-4o-mini', 'claude-3-5-sonnet': 'claude-3-haiku' },
  })

  const updates = writes('/key/update')
  assert.equal((await apply(downgradeKey)).ok, true)
  assert.equal(writes('/key/update'), updates, 're-apply writes nothing')
  assert.deepEqual(lite.keys.get(KEY)!.aliases['gpt-4o'], 'gpt-4o-mini')

  assert.equal((await remove(downgradeKey)).ok, true)
  assert.deepEqual(lite.keys.get(KEY)!.aliases, aliases)
  assert.deepEqual(lite.keys.get(KEY)!.metadata, metadata)
  const again = await remove(downgradeKey)
  assert.equal(again.ok, true)
  assert.match(again.ok ? again.answer : '', /no record/)
  assert.deepEqual(lite.keys.get(KEY)!.aliases, aliases)
  assert.deepEqual(lite.violations, [])
})

test('an alias changed by hand while the rule ran is left as it is on remove', async () => {
  lite.keys.set(KEY, { key_alias: null, aliases: {}, metadata: {}, blocked: null, team_id: null })
  await apply(downgradeKey)
  lite.keys.get(KEY)!.aliases['gpt-4o'] = 'gpt-4o-by-hand'
  await remove(downgradeKey)
  assert.deepEqual(lite.keys.get(KEY)!.aliases, { 'gpt-4o': 'gpt-4o-by-hand' })
  assert.deepEqual(lite.keys.get(KEY)!.metadata, {})
})

test('key block: /key/block, idempotent, /key/unblock on remove; a key blocked by hand stays blocked', async () => {
  const rule = makeRule({ id: 'rule-kb', scope: { kind: 'key', id: KEY } })
  lite.keys.set(KEY, { key_alias: null, aliases: {}, metadata: { owner: 'x' }, blocked: null, team_id: null })
  assert.equal((await apply(rule)).ok, true)
  assert.equal(lite.keys.get(KEY)!.blocked, true)
  const blocks = writes('/key/block')
  assert.equal((await apply(rule)).ok, true)
  assert.equal(writes('/key/block'), blocks, 're-apply does not block again')
  assert.equal((await remove(rule)).ok, true)
  assert.equal(lite.keys.get(KEY)!.blocked, false)
  assert.deepEqual(lite.keys.get(KEY)!.metadata, { owner: 'x' })
  assert.equal((await remove(rule)).ok, true)

  lite.keys.set(KEY, { key_alias: null, aliases: {}, metadata: {}, blocked: true, team_id: null })
  await apply(rule)
  const o = await remove(rule)
  assert.match(o.ok ? o.answer : '', /left blocked/)
  assert.equal(lite.keys.get(KEY)!.blocked, true, 'a target never widens access')
  assert.deepEqual(lite.violations, [])
})

test('team downgrade and block: model_aliases merged and restored, /team/block and /team/unblock', async () => {
  lite.teams.set('team-search', {
    team_alias: 'search',
    model_aliases: null,
    metadata: { cost_center: 7 },
    blocked: false,
  })
  const down = makeRule({
    id: 'rule-td',
    scope: { kind: 'team', id: 'team-search' },
    action: { action: 'downgrade', map: { 'gpt-4o': 'gpt-4o-mini' } },
  })
  assert.equal((await apply(down)).ok, true)
  assert.deepEqual(lite.teams.get('team-search')!.model_aliases, { 'gpt-4o': 'gpt-4o-mini' })
  const block = makeRule({ id: 'rule-tb', scope: { kind: 'team', id: 'team-search' } })
  assert.equal((await apply(block)).ok, true)
  assert.equal(lite.teams.get('team-search')!.blocked, true)
  assert.equal((await remove(block)).ok, true)
  assert.equal(lite.teams.get('team-search')!.blocked, false)
  assert.deepEqual(
    lite.teams.get('team-search')!.model_aliases,
    { 'gpt-4o': 'gpt-4o-mini' },
    'the downgrade still runs',
  )
  assert.equal((await remove(down)).ok, true)
  assert.deepEqual(lite.teams.get('team-search')!.model_aliases, {})
  assert.deepEqual(lite.teams.get('team-search')!.metadata, { cost_center: 7 })
  assert.deepEqual(lite.violations, [])
})

test('customer block: /customer/block, removed with /customer/update blocked=false (not /customer/unblock)', async () => {
  const rule = makeRule({ id: 'rule-cb', scope: { kind: 'customer', id: 'acme' } })
  assert.equal((await apply(rule)).ok, true)
  assert.equal((await apply(rule)).ok, true)
  assert.deepEqual(lite.customers.get('acme'), { blocked: true })
  assert.equal((await remove(rule)).ok, true)
  assert.deepEqual(lite.customers.get('acme'), { blocked: false })
  assert.equal((await remove(rule)).ok, true)
  assert.equal(lite.calls.filter((c) => c.route === '/customer/unblock').length, 0)
  // never blocked here: nothing to unblock, not an error
  const unknown = await remove(makeRule({ id: 'rule-x', scope: { kind: 'customer', id: 'never-seen' } }))
  assert.equal(unknown.ok, true)
  assert.deepEqual(lite.violations, [])
})

test('records edited by hand into something else are ignored, not a crash', async () => {
  const rule = makeRule({ id: 'rule-kb2', scope: { kind: 'key', id: KEY } })
  const junk = { gatewarden_rules: { 'rule-old': null, 'rule-str': 'x' } }
  lite.keys.set(KEY, {
    key_alias: null,
    aliases: {},
    metadata: structuredClone(junk),
    blocked: false,
    team_id: null,
  })
  assert.equal((await apply(rule)).ok, true)
  assert.equal((await remove(rule)).ok, true)
  assert.equal(lite.keys.get(KEY)!.blocked, false)
  assert.deepEqual(lite.keys.get(KEY)!.metadata, {})
})

test('what the admin API cannot express is unsupported', async () => {
  const cases: Array<[Partial<Rule>, boolean]> = [
    [{ scope: { kind: 'customer', id: 'acme' }, action: { action: 'downgrade', map: { a: 'b' } } }, false],
    [{ scope: { kind: 'endpoint', id: '/chat' } }, false],
    [{ scope: { kind: 'agent', id: 'nightly' } }, false],
    [{ scope: { kind: 'model', id: 'gpt-4o' } }, false],
    [{ scope: { kind: 'key', id: 'my-alias' } }, false],
    [
      { scope: { kind: 'key', id: KEY }, action: { action: 'downgrade', map: { '*': 'gpt-4o-mini' } } },
      false,
    ],
    [{ scope: { kind: 'team', id: 't' }, action: { action: 'downgrade', map: { '*': 'x' } } }, false],
    [{ scope: { kind: 'team', id: 't' } }, true],
    [{ scope: { kind: 'key', id: KEY.toUpperCase() } }, true],
  ]
  for (const [over, want] of cases) assert.equal(target.supports(makeRule(over)), want, JSON.stringify(over))
  const calls = lite.calls.length
  const o = await apply(makeRule({ scope: { kind: 'agent', id: 'nightly' } }))
  assert.deepEqual(o.ok ? null : [o.retryable, o.code], [false, 'GW_TARGET_UNSUPPORTED'])
  assert.equal(lite.calls.length, calls, 'nothing sent')
})

test('5xx is retried under the policy; spent retries are a retryable failure; 401 is not retryable', async () => {
  lite.keys.set(KEY, { key_alias: null, aliases: {}, metadata: {}, blocked: null, team_id: null })
  lite.failNext('POST /key/update', 2, 503)
  const ok = await apply(downgradeKey)
  assert.equal(ok.ok, true, JSON.stringify(ok))
  assert.equal(lite.calls.filter((c) => c.route === '/key/update' && c.status === 503).length, 2)
  assert.equal(lite.keys.get(KEY)!.aliases['gpt-4o'], 'gpt-4o-mini')

  lite.failNext('GET /key/info', retry.maxAttempts, 502)
  const down = await remove(downgradeKey)
  assert.deepEqual(down.ok ? null : [down.retryable, down.code], [true, 'GW_TARGET_HTTP'])
  assert.equal((await remove(downgradeKey)).ok, true, 'the re-drive completes it')
  assert.deepEqual(lite.keys.get(KEY)!.aliases, {})

  const wrong = new LiteLLMAdminTarget(
    'litellm-admin',
    lite.url,
    'sk-wrong-key',
    { timeoutMs: 5_000, retry, clock: instantClock },
    log,
  )
  const denied = await record(wrong.apply(makeRule()))
  assert.deepEqual(denied.ok ? null : [denied.retryable, denied.code], [false, 'GW_TARGET_HTTP'])
  assert.match(denied.ok ? '' : denied.answer, /^401: .*auth_error/)
  assert.ok(!JSON.stringify(denied).includes('sk-wrong-key'))
  assert.deepEqual(lite.violations, [])
})

test('the contract server itself rejects a request off the contract', async () => {
  const res = await fetch(`${lite.url}/key/update`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key: KEY, alias: { a: 'b' } }),
  })
  assert.equal(res.status, 422)
  assert.deepEqual(lite.violations.splice(0), ['POST /key/update body: unknown field alias'])
})
