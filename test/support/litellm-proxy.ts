import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { round10 } from './events.js'
import { REPO_ROOT } from './paths.js'

/** The real LiteLLM proxy (scripts/litellm), started for a test. */
export interface LiteLLMProxy {
  url: string
  masterKey: string
  workdir: string
  stop(): void
}

/** Extra callbacks for `startLiteLLM`. */
export interface LiteLLMProxyOptions {
  /**
   * Also load the Gatewarden guardrail hook (integrations/litellm/gatewarden_guardrail.py, copied next to
   * config.yaml), polling `<gatewardenUrl>/api/rules/active` every `guardrailRefreshSeconds` (default 1).
   * Its token: env GATEWARDEN_RULES_TOKEN, else GATEWARDEN_INGEST_TOKEN.
   */
  guardrail?: boolean
  guardrailRefreshSeconds?: number
}

/**
 * Installs (cached) and starts the real LiteLLM proxy, its callbacks pointed at `gatewardenUrl`.
 * Fails (never skips) when it cannot start: the test is about the real proxy.
 */
export function startLiteLLM(
  gatewardenUrl: string,
  env: Record<string, string> = {},
  opts: LiteLLMProxyOptions = {},
): LiteLLMProxy {
  const guardrail: Record<string, string> = opts.guardrail
    ? { LITELLM_GUARDRAIL: '1', LITELLM_GUARDRAIL_REFRESH: String(opts.guardrailRefreshSeconds ?? 1) }
    : {}
  execFileSync(join(REPO_ROOT, 'scripts/litellm/setup.sh'), {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 600_000,
  })
  const workdir = mkdtempSync(join(tmpdir(), 'gw-litellm-'))
  const out = execFileSync(join(REPO_ROOT, 'scripts/litellm/start.sh'), [workdir, gatewardenUrl], {
    env: { ...process.env, ...env, ...guardrail },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 180_000,
  })
  const url = /LITELLM_URL=(\S+)\s*$/.exec(out)?.[1]
  if (!url) throw new Error(`litellm start.sh printed no URL:\n${out}`)
  return {
    url,
    masterKey: env.LITELLM_MASTER_KEY ?? 'sk-test-master',
    workdir,
    stop: () =>
      execFileSync(join(REPO_ROOT, 'scripts/litellm/stop.sh'), [workdir], {
        stdio: 'ignore',
        timeout: 60_000,
      }),
  }
}

/** What LiteLLM charged one customer, summed over the calls made through `ProxyCalls`. */
export interface Charged {
  cost: number
  n: number
  failures: number
}

/**
 * Chat calls through the real proxy, tallied per customer from LiteLLM's own answer headers
 * (`x-litellm-response-cost`, `x-litellm-call-id`): what Gatewarden must end up counting.
 */
export class ProxyCalls {
  readonly expected = new Map<string, Charged>()
  readonly callIds: string[] = []

  constructor(private readonly proxy: Pick<LiteLLMProxy, 'url' | 'masterKey'>) {}

  /** One chat completion counted under `customerKey`; returns the HTTP status. */
  async call(
    customerKey: string,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<number> {
    const res = await fetch(`${this.proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.proxy.masterKey}`,
        'content-type': 'application/json',
        ...headers,
      },
      body: JSON.stringify(body),
    })
    await res.arrayBuffer()
    const cost = Number(res.headers.get('x-litellm-response-cost') ?? 0)
    const callId = res.headers.get('x-litellm-call-id')
    if (callId) this.callIds.push(callId)
    const e = this.expected.get(customerKey) ?? { cost: 0, n: 0, failures: 0 }
    this.expected.set(customerKey, {
      cost: round10(e.cost + cost),
      n: e.n + 1,
      failures: e.failures + (res.ok ? 0 : 1),
    })
    return res.status
  }

  /** Calls made so far. */
  total(): number {
    return [...this.expected.values()].reduce((a, e) => a + e.n, 0)
  }

  /**
   * The mix both proxy tests send, statuses asserted: acme by end-user id (3 calls and one 429), globex
   * by request tags (2), initech with an `x-agent-name` header (1).
   */
  async standardMix(): Promise<void> {
    const hi = [{ role: 'user', content: 'hello' }]
    for (let i = 0; i < 3; i++)
      assert.equal(await this.call('acme', { model: 'gpt-4o', messages: hi, user: 'acme' }), 200)
    for (let i = 0; i < 2; i++) {
      const body = {
        model: 'gpt-4o-mini',
        messages: hi,
        metadata: { tags: ['customer:globex', 'endpoint:search'] },
      }
      assert.equal(await this.call('globex', body), 200)
    }
    assert.equal(await this.call('acme', { model: 'rate-limited', messages: hi, user: 'acme' }), 429)
    const initech = { model: 'claude-3-5-sonnet', messages: hi, user: 'initech' }
    assert.equal(await this.call('initech', initech, { 'x-agent-name': 'nightly-summarizer' }), 200)
  }
}
