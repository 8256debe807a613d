import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { REPO_ROOT } from '../support/paths.js'
import { freshStore, rows } from '../support/store.js'

// docker-compose.yml cannot run here (no Docker engine): these checks keep it in step with what the tests
// do run. The ClickHouse server is of the embedded engine's major version, Grafana gets the three
// dashboards and both data sources their variables default to, Prometheus scrapes Gatewarden.

const read = (path: string): unknown => parseYaml(readFileSync(join(REPO_ROOT, path), 'utf8'))
const Compose = z.object({
  services: z.record(
    z.string(),
    z.object({
      image: z.string().optional(),
      volumes: z.array(z.string()).optional(),
      environment: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
})
const compose = Compose.parse(read('docker-compose.yml'))
const service = (name: string) => {
  const s = compose.services[name]
  assert.ok(s, `service ${name}`)
  return s
}

let store: StoreClient | undefined
after(async () => {
  await store?.client.close()
})

test("the ClickHouse server is of the embedded engine's major.minor version", async () => {
  store = await freshStore('compose')
  const [v] = await rows<{ v: string }>(store, 'SELECT version() AS v')
  const engine = v!.v.split('.').slice(0, 2).join('.')
  const tag = /^clickhouse\/clickhouse-server:(\d+\.\d+)/.exec(service('clickhouse').image ?? '')?.[1]
  // CLICKHOUSE_URL points the tests at a server: then the pin is checked against that server instead
  assert.equal(tag, engine, `compose pins ${tag}, the engine here is ${v!.v}`)
})

test("Grafana mounts the dashboards and the provisioning; the data sources are the variables' defaults", () => {
  const grafana = service('grafana')
  assert.ok(grafana.volumes?.includes('./dashboards/provisioning:/etc/grafana/provisioning'))
  assert.ok(grafana.volumes?.some((v) => v.startsWith('./dashboards:/var/lib/grafana/dashboards')))
  const Ds = z.object({
    datasources: z.array(z.object({ uid: z.string(), type: z.string(), url: z.string().optional() })),
  })
  const prom = Ds.parse(read('dashboards/provisioning/datasources/prometheus.yaml')).datasources
  assert.deepEqual(
    prom.map((d) => [d.uid, d.type, d.url]),
    [['gatewarden-prometheus', 'prometheus', 'http://prometheus:9090']],
  )
  for (const file of ['gatewarden-spend.json', 'gatewarden-guardrails.json', 'gatewarden-pipeline.json']) {
    const d = z
      .object({
        templating: z.object({ list: z.array(z.object({ name: z.string(), current: z.unknown() })) }),
      })
      .parse(JSON.parse(readFileSync(join(REPO_ROOT, 'dashboards', file), 'utf8')))
    const current = (name: string) =>
      (d.templating.list.find((v) => v.name === name)?.current as { value?: string } | undefined)?.value
    assert.equal(current('datasource'), 'gatewarden-clickhouse', file)
    const p = current('prometheus')
    if (d.templating.list.some((v) => v.name === 'prometheus')) assert.equal(p, 'gatewarden-prometheus', file)
  }
})

test('Prometheus scrapes Gatewarden; LiteLLM runs the logger and the guardrail hook against it', () => {
  assert.ok(
    service('prometheus').volumes?.includes(
      './dashboards/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
    ),
  )
  const scrape = z
    .object({
      scrape_configs: z.array(
        z.object({ static_configs: z.array(z.object({ targets: z.array(z.string()) })) }),
      ),
    })
    .parse(read('dashboards/prometheus/prometheus.yml'))
  assert.deepEqual(
    scrape.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets)),
    ['gatewarden:4318'],
  )

  const litellm = service('litellm')
  assert.equal(litellm.environment?.GATEWARDEN_URL, 'http://gatewarden:4318')
  assert.ok(
    litellm.volumes?.includes(
      './integrations/litellm/gatewarden_guardrail.py:/app/gatewarden_guardrail.py:ro',
    ),
  )
  const cfg = z
    .object({ litellm_settings: z.object({ callbacks: z.array(z.string()) }) })
    .parse(read('integrations/litellm/config.compose.yaml'))
  assert.deepEqual(cfg.litellm_settings.callbacks, [
    'gatewarden',
    'gatewarden_guardrail.proxy_handler_instance',
  ])
  // every variable compose reads from .env is listed in .env.example
  const text = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')
  const used = new Set([...text.matchAll(/\$\{([A-Z_]+)[:}]/g)].map((m) => m[1]!))
  const listed = new Set(
    readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split('=')[0]!),
  )
  assert.deepEqual(
    [...used].filter((v) => !listed.has(v)),
    [],
  )
})
