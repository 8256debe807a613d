import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A request as the listener received it: raw body bytes kept for signature checks. */
export interface ReceivedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
}

/** What to answer; `hang` never answers (timeouts). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang'

/** A real HTTP listener on 127.0.0.1:0 standing in for Slack, a webhook receiver or PagerDuty. */
export interface AlertListener {
  url: string
  port: number
  requests: ReceivedRequest[]
  /** Decides each answer from the request and its 1-based number; default 200 `ok`. */
  answer: (req: ReceivedRequest, n: number) => Answer
  close(): Promise<void>
}

/** `port` 0 (default) picks a free one; a fixed port brings a receiver back where it was. */
export async function startAlertListener(answer?: AlertListener['answer'], port = 0): Promise<AlertListener> {
  const requests: ReceivedRequest[] = []
  const listener = { requests, answer: answer ?? (() => ({ status: 200, body: 'ok' })) } as AlertListener
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const got: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      }
      requests.push(got)
      const a = listener.answer(got, requests.length)
      if (a === 'hang') return
      res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers })
      res.end(a.body ?? '')
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const bound = (server.address() as AddressInfo).port
  listener.port = bound
  listener.url = `http://127.0.0.1:${bound}`
  listener.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return listener
}
