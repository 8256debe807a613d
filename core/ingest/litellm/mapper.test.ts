import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mapLiteLLMPayload, type MapperOptions } from './mapper.js'
import { AttributionConfig, PrivacyConfig } from '../../../schemas/config.js'
import { fixture } from '../../../test/support/paths.js'
import { LABEL_MAX_CHARS, TRUNCATION_MARKER } from '../labels.js'

const opts: MapperOptions = {
  source: 'litellm_http',
  gateway: 'litellm',
  attribution: AttributionConfig.parse({}),
  privacy: PrivacyConfig.parse({}),
}
type Payload = Record<string, unknown>
const success = () => fixture<Payload>('litellm/standard-logging-payload-success.json')
const failure = () => fixture<Payload>('litellm/standard-logging-payload-failure.json')

function mapOk(p: unknown, o: MapperOptions = opts) {
  const r = mapLiteLLMPayload(p, o)
  assert.ok(r.ok, `expected ok, got ${JSON.stringify(r)}`)
  return r.event
}
function mapErr(p: unknown): string {
  const r = mapLiteLLMPayload(p, opts)
  assert.ok(!r.ok, 'expected a rejection')
  return r.reason
}

test('success fixture maps every canonical field', () => {
  const e = mapOk(success())
  assert.equal(e.event_id, 'b980db26-9512-45cc-b1da-c511a363b83f', 'litellm_call_id is the dedupe key')
  assert.equal(e.metadata.response_id, 'chatcmpl-9f3c1a7e-52b4-4c1e-9d0a-3b7f2e8c6a11')
  assert.equal(e.ts, 1739235379683)
  assert.equal(e.end_ts, 1739235381845)
  assert.equal(e.duration_ms, 2162)
  assert.equal(e.ttft_ms, 2162)
  assert.equal(e.customer, 'cust_4711')
  assert.equal(e.team, 'e8d1460f-846c-45d7-9b43-55f3cc52ac32')
  assert.equal(e.team_alias, 'customer-support')
  assert.equal(e.user, 'svc-support-bot')
  assert.equal(e.api_key_hash, '88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b')
  assert.equal(e.api_key_alias, 'support-bot-prod')
  assert.equal(e.agent, 'triage')
  assert.equal(e.endpoint, '/chat/completions', 'no endpoint tag: falls back to the route')
  assert.equal(e.session_id, 's-8812')
  assert.equal(e.provider, 'openai')
  assert.equal(e.model_requested, 'gpt-4o')
  assert.equal(e.input_tokens, 425)
  assert.equal(e.output_tokens, 105)
  assert.equal(e.cost_usd, 0.0021125)
  assert.equal(e.status, 'success')
  assert.equal(e.http_status, 200)
  assert.equal(e.error_type, '')
  assert.deepEqual(e.tags, ['prod', 'support'])
  assert.match(e.fingerprint, /^[0-9a-f]{32}$/)
  assert.equal(e.metadata.agent, 'triage')
  assert.equal(e.request_text, '', 'prompts are not stored by default')
  assert.equal(e.response_text, '')
})

test('failure fixture: zero tokens, error class and http status', () => {
  const e = mapOk(failure())
  assert.equal(e.status, 'failure')
  assert.equal(e.input_tokens, 0)
  assert.equal(e.output_tokens, 0)
  assert.equal(e.cost_usd, 0)
  const info = failure().error_information as Record<string, string>
  assert.equal(e.error_type, info.error_class)
  assert.equal(e.http_status, Number(info.error_code))
})

test('nulls everywhere: only id and startTime are needed', () => {
  const p: Payload = { id: 'x1', startTime: 1739235379.5 }
  for (const k of [
    'metadata',
    'end_user',
    'request_tags',
    'response_cost',
    'endTime',
    'completionStartTime',
    'model',
    'messages',
    'error_information',
    'status',
    'cache_hit',
    'model_parameters',
  ])
    p[k] = null
  const e = mapOk(p)
  assert.equal(e.customer, '')
  assert.equal(e.cost_usd, 0)
  assert.equal(e.end_ts, e.ts)
  assert.equal(e.ttft_ms, null)
  assert.equal(e.fingerprint, '', 'no prompt, no fingerprint')
  assert.deepEqual(e.tags, [])
})

test('missing metadata still maps', () => {
  const p = success()
  delete p.metadata
  const e = mapOk(p)
  assert.equal(e.team, '')
  assert.equal(e.api_key_hash, '')
  assert.equal(e.customer, 'cust_4711', 'end_user is still there')
})

test('cache hit with a _cache_hit id: its own call id, flagged, zero cost', () => {
  const p = success()
  p.id = `${String(p.id)}_cache_hit1739235390.12`
  p.litellm_call_id = 'second-call-uuid'
  p.cache_hit = true
  p.response_cost = 0
  const e = mapOk(p)
  assert.equal(e.cache_hit, true)
  assert.equal(e.event_id, 'second-call-uuid')
  assert.equal(e.cost_usd, 0)
})

test('two calls sharing a provider response id are two events', () => {
  const a = success()
  const b = { ...success(), litellm_call_id: 'another-call' }
  assert.notEqual(mapOk(a).event_id, mapOk(b).event_id)
})

test('cached tokens from usage details (OpenAI and Anthropic shapes)', () => {
  const p = success()
  ;((p.metadata as Payload).usage_object as Payload).prompt_tokens_details = { cached_tokens: 300 }
  assert.equal(mapOk(p).cached_tokens, 300)
  const q = success()
  ;(q.metadata as Payload).usage_object = { cache_read_input_tokens: 42 }
  assert.equal(mapOk(q).cached_tokens, 42)
})

test('unicode survives and fingerprints are stable', () => {
  const p = success()
  p.end_user = 'клиент-東京-🚀'
  p.messages = [{ role: 'user', content: 'Ünïcödé 你好 🚀' }]
  const a = mapOk(p)
  assert.equal(a.customer, 'клиент-東京-🚀')
  assert.equal(mapOk(structuredClone(p)).fingerprint, a.fingerprint)
})

test('timestamps in ms by mistake are detected and normalized', () => {
  const p = success()
  p.startTime = 1739235379683
  p.endTime = 1739235381845
  p.completionStartTime = 1739235381845
  const e = mapOk(p)
  assert.equal(e.ts, 1739235379683)
  assert.equal(e.duration_ms, 2162)
  assert.equal(e.metadata.gw_timestamp_unit, 'ms,ms')
})

test('ISO timestamps are read', () => {
  const p = success()
  p.startTime = '2025-02-11T00:56:19.683Z'
  p.endTime = '2025-02-11T00:56:21.845Z'
  assert.equal(mapOk(p).ts, Date.parse('2025-02-11T00:56:19.683Z'))
})

test('absurd timestamps are rejected with a reason', () => {
  for (const bad of [0, 12, -5, 'yesterday', null, 9e20]) {
    const p = success()
    p.startTime = bad
    assert.match(mapErr(p), /startTime/)
  }
})

test('negative, NaN and non-numeric costs are rejected', () => {
  for (const bad of [-0.01, 'NaN', 'abc', Number.NaN, {}, Infinity]) {
    const p = success()
    p.response_cost = bad
    assert.match(mapErr(p), /response_cost/, `cost ${JSON.stringify(bad)}`)
  }
  const p = success()
  p.response_cost = '0.5'
  assert.equal(mapOk(p).cost_usd, 0.5, 'a numeric string is read')
})

test('wrong types and non-objects are rejected, unknown fields pass', () => {
  assert.match(mapErr('just a string'), /invalid payload/)
  assert.match(mapErr([1, 2]), /invalid payload/)
  assert.match(mapErr({ ...success(), prompt_tokens: 'many' }), /prompt_tokens/)
  assert.match(mapErr({ startTime: 1739235379.5 }), /missing id/)
  assert.match(mapErr({ ...success(), status: 'weird' }), /unknown status/)
  assert.equal(mapOk({ ...success(), brand_new_field: { a: 1 } }).event_id, success().litellm_call_id)
})

test('id is the event id when litellm_call_id is missing', () => {
  const p = success()
  delete p.litellm_call_id
  assert.equal(mapOk(p).event_id, p.id)
})

test('attribution defaults: tags and headers when spend_logs_metadata is silent', () => {
  const p = success()
  p.end_user = null
  const md = p.metadata as Payload
  md.user_api_key_end_user_id = null
  md.spend_logs_metadata = {}
  md.requester_custom_headers = { 'x-agent-name': 'nightly-summarizer', 'x-endpoint': 'search' }
  p.request_tags = ['customer:globex', 'prod']
  const e = mapOk(p)
  assert.equal(e.customer, 'globex')
  assert.equal(e.agent, 'nightly-summarizer')
  assert.equal(e.endpoint, 'search')
})

test('attribution is configurable: first non-empty path wins', () => {
  const p = success()
  p.request_tags = ['tenant:initech', 'feature:reports']
  const custom: MapperOptions = {
    ...opts,
    attribution: AttributionConfig.parse({
      customer: ['tag:tenant', 'end_user'],
      endpoint: ['tag:feature'],
      agent: ['metadata.missing'],
    }),
  }
  const e = mapOk(p, custom)
  assert.equal(e.customer, 'initech')
  assert.equal(e.endpoint, 'reports')
  assert.equal(e.agent, '')
})

test('prompt storage is opt-in and truncated', () => {
  const e = mapOk(success(), { ...opts, privacy: { store_prompts: true, max_prompt_chars: 20 } })
  assert.equal(e.request_text.length, 20)
  assert.ok(e.request_text.startsWith('system: You are'))
  assert.equal(e.response_text, 'I can help with that')
})

test('secret-looking metadata keys are never copied', () => {
  const p = success()
  ;(p.metadata as Payload).spend_logs_metadata = {
    api_key: 'sk-live-123',
    Authorization: 'Bearer x',
    feature: 'ok',
  }
  const e = mapOk(p)
  assert.equal(e.metadata.feature, 'ok')
  assert.equal(e.metadata.api_key, undefined)
  assert.equal(e.metadata.Authorization, undefined)
  assert.ok(!JSON.stringify(e).includes('sk-live-123'))
})

test('real payloads captured from LiteLLM 1.108.7 (test/fixtures/litellm/captured)', () => {
  const one = (name: string) => {
    const body = fixture<Payload[]>(`litellm/captured/generic-api-${name}.json`)
    assert.equal(body.length, 1)
    return mapOk(body[0])
  }
  const user = one('success-user')
  assert.equal(user.customer, 'acme')
  assert.equal(user.model_requested, 'gpt-4o')
  assert.equal(user.endpoint, '/v1/chat/completions')
  assert.ok(user.cost_usd > 0 && user.input_tokens === 10 && user.output_tokens === 20)
  assert.ok(user.ttft_ms !== null && user.duration_ms >= 0)
  assert.equal(one('agent-header').agent, 'nightly-summarizer')
  const headers = one('tags-headers')
  assert.equal(headers.customer, 'initech', 'spend_logs_metadata / customer: tag when no end_user')
  assert.equal(headers.endpoint, 'chat')
  assert.equal(one('tags-metadata').endpoint, 'search')
  const hit = one('cache-hit')
  const miss = one('cache-miss')
  assert.equal(hit.cache_hit, true)
  assert.equal(hit.cost_usd, 0)
  assert.notEqual(hit.event_id, miss.event_id, 'a cache hit is its own event')
  const rl = one('failure-rate-limit')
  assert.equal(rl.status, 'failure')
  assert.equal(rl.http_status, 429)
  assert.equal(rl.error_type, 'RateLimitError')
  assert.equal(one('failure-auth').http_status, 400)
  assert.equal(one('embedding').call_type, 'aembedding')
  assert.equal(one('streaming').status, 'success')
  assert.equal(one('anthropic-messages').input_tokens, 2095)
})

test('a 1,500-char customer or a 1,100-char tag is cut to 1,024 chars with the marker and counted; the call keeps its cost', () => {
  const long = 'c'.repeat(1500)
  const p = success()
  p.end_user = long
  const md = p.metadata as Payload
  md.user_api_key_end_user_id = long
  md.spend_logs_metadata = { ...(md.spend_logs_metadata as Payload), customer: long }
  const r = mapLiteLLMPayload(p, opts)
  assert.ok(r.ok, `a long customer must not dead-letter the call: ${JSON.stringify(!r.ok && r.reason)}`)
  assert.equal(r.event.customer, `${'c'.repeat(LABEL_MAX_CHARS - 1)}${TRUNCATION_MARKER}`)
  assert.equal(r.event.cost_usd, mapOk(success()).cost_usd)
  assert.ok(r.event.cost_usd > 0)
  assert.equal(r.event.metadata.customer!.length, long.length, 'a metadata value is kept up to 4,096 chars')
  assert.equal(r.truncated, 1)

  const t = success()
  t.request_tags = ['prod', `note:${'t'.repeat(1100)}`]
  const rt = mapLiteLLMPayload(t, opts)
  assert.ok(rt.ok, `a long tag must not dead-letter the call: ${JSON.stringify(!rt.ok && rt.reason)}`)
  assert.equal(rt.event.tags[0], 'prod')
  assert.equal(rt.event.tags[1]!.length, LABEL_MAX_CHARS)
  assert.ok(rt.event.tags[1]!.endsWith(TRUNCATION_MARKER))
  assert.equal(rt.event.cost_usd, mapOk(success()).cost_usd)
  assert.equal(rt.truncated, 1)
  const plain = mapLiteLLMPayload(success(), opts)
  assert.ok(plain.ok && plain.truncated === 0)
})

test('metadata: routing facts win over spend_logs_metadata entries of the same name; secrets are dropped', () => {
  const p = success()
  const md = p.metadata as Payload
  md.spend_logs_metadata = { model_id: 'from-sender', api_key: 'sk-x', note: 'kept' }
  p.model_id = 'deployment-1'
  const e = mapOk(p)
  assert.equal(e.metadata.model_id, 'deployment-1')
  assert.equal(e.metadata.note, 'kept')
  assert.equal(e.metadata.api_key, undefined)
})

test('the customer tier comes from spend_logs_metadata, a header or a tag, in that order', () => {
  const withMd = (md: Payload) => ({ ...success(), ...md })
  const base = success()
  const md = base.metadata as Payload
  assert.equal(mapOk(base).tier, '', 'no tier anywhere')
  assert.equal(mapOk(withMd({ metadata: { ...md, spend_logs_metadata: { tier: 'pro' } } })).tier, 'pro')
  assert.equal(
    mapOk(withMd({ metadata: { ...md, requester_custom_headers: { 'x-customer-tier': 'team' } } })).tier,
    'team',
  )
  assert.equal(mapOk(withMd({ request_tags: ['tier:free'] })).tier, 'free')
  assert.equal(
    mapOk(withMd({ metadata: { ...md, spend_logs_metadata: { tier: 'pro' } }, request_tags: ['tier:free'] }))
      .tier,
    'pro',
  )
})
