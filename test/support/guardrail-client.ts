import type { LiteLLMProxy } from './litellm-proxy.js'

/** One chat answer through the proxy: status, which mock model answered, and the error text if any. */
export interface ChatAnswer {
  status: number
  /** `gpt-4o`, `gpt-4o-mini`... from the mock's "Hello from mock <model>." content; '' on errors. */
  servedBy: string
  error: string
  at: number
}

/** A chat completion through the real LiteLLM proxy with the master key. */
export async function chat(
  proxy: Pick<LiteLLMProxy, 'url' | 'masterKey'>,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<ChatAnswer> {
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${proxy.masterKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  const at = Date.now()
  if (!res.ok) return { status: res.status, servedBy: '', error: text, at }
  const json = JSON.parse(text) as { choices?: { message?: { content?: string } }[] }
  const content = json.choices?.[0]?.message?.content ?? ''
  return {
    status: res.status,
    servedBy: /Hello from mock (\S+?)\.?$/.exec(content)?.[1] ?? '',
    error: '',
    at,
  }
}

/**
 * Calls `next()` until `done(answer)` holds, at most `maxCalls` times (a bound for a broken run: each
 * call is a real request, the pace is the proxy's). Returns every answer.
 */
export async function callUntil(
  next: (i: number) => Promise<ChatAnswer>,
  done: (a: ChatAnswer) => boolean,
  what: string,
  maxCalls = 200,
  pauseMs = 200,
): Promise<ChatAnswer[]> {
  const answers: ChatAnswer[] = []
  for (let i = 0; i < maxCalls; i++) {
    const a = await next(i)
    answers.push(a)
    if (done(a)) return answers
    await new Promise((r) => setTimeout(r, pauseMs))
  }
  throw new Error(`${what}: not seen in ${maxCalls} calls; last: ${JSON.stringify(answers.at(-1))}`)
}
