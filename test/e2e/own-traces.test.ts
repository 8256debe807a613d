import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { litellmPayload } from '../support/events.js'
import { spawnGatewarden, stopGracefully } from '../support/gatewarden-process.js'

test('with OTEL_EXPORTER_OTLP_ENDPOINT set, Gatewarden exports its own spans (batch writes) and flushes them on stop', async () => {
  const bodies: string[] = []
  const collector = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      if (req.url === '/v1/traces') bodies.push(body)
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r))
  const port = (collector.address() as AddressInfo).port
  try {
    const gw = await spawnGatewarden({
      GATEWARDEN_DATA_DIR: mkdtempSync(join(tmpdir(), 'gw-traces-')),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    })
    const res = await fetch(`${gw.url}/ingest/litellm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([litellmPayload({ id: 'trace-1', customer: 'acme' })]),
    })
    assert.equal(res.status, 200)
    assert.equal(await stopGracefully(gw), 0)
    const all = bodies.join('\n')
    assert.match(all, /"name":"gatewarden\.store\.write_batch"/)
    assert.match(all, /"key":"gatewarden\.batch\.rows","value":\{"intValue":1\}/)
    assert.match(all, /"stringValue":"gatewarden"/, 'service.name')
  } finally {
    collector.close()
  }
})
