import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { createAlertSenders } from '../../adapters/alerts/channel-factory.js'
import { ENV_OVERRIDES, loadConfig } from '../../services/config.js'
import { goTool, runTool } from '../support/go-tools.js'
import { REPO_ROOT } from '../support/paths.js'
import { freshStore, rows, silentLog } from '../support/store.js'

// docker-compose.yml cannot run here (no Docker engine). The real compose CLI (built from its Go module by
// scripts/compose/install.sh) resolves it as `docker compose up` would (`config --format json`: variables
// from the environment, profiles, paths made absolute), and these checks hold the result to what the tests
// do run: the services the stack promises, health checks, named volumes, every Gatewarden setting through the
// real config loader, ClickHouse of the embedded engine's version, and a Dockerfile building as CI builds.

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8')
const yaml = (path: string): unknown => parseYaml(read(path))

/** .env.example's variables; the secrets (empty there) get test values as a user fills in .env, and Kafka is on. */
function envFromExample(): Record<string, string> {
  const fill: Record<string, string> = {
    GATEWARDEN_AUTH_TOKEN: 'compose-test-token-0123456789',
    KAFKA_BROKERS: 'kafka:9092',
    LITELLM_MASTER_KEY: 'sk-compose-test-master',
  }
  const vars: Record<string, string> = {}
  for (const line of read('.env.example').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line)
    if (!m) continue
    const [, name, value] = m as unknown as [string, string, string]
    vars[name] = value || (fill[name] ?? (/TOKEN|PASSWORD|KEY/.test(name) ? `compose-test-${name}` : ''))
  }
  return vars
}
const ENV = envFromExample()

// an empty --env-file: a developer's own .env beside the file must not change what is checked
const emptyEnvFile = join(mkdtempSync(join(tmpdir(), 'gw-compose-')), 'empty.env')
writeFileSync(emptyEnvFile, '')

/** `docker-compose config --format json` on the repo's file, every profile on, in a child env of `vars` only. */
function composeConfig(vars: Record<string, string>) {
  const bin = goTool('docker-compose')
  return runTool(
    bin,
    [
      '--project-directory',
      REPO_ROOT,
      '-f',
      join(REPO_ROOT, 'docker-compose.yml'),
      '--env-file',
      emptyEnvFile,
      '--profile',
      'kafka',
      '--profile',
      'litellm',
      'config',
      '--format',
      'json',
    ],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), ...vars } },
  )
}

const Volume = z.object({
  type: z.string(),
  source: z.string().optional(),
  target: z.string(),
  read_only: z.boolean().optional(),
})
const Service = z.object({
  image: z.string().optional(),
  build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
  command: z.array(z.string()).nullable().optional(),
  environment: z.record(z.string(), z.string().nullable()).optional(),
  volumes: z.array(Volume).optional(),
  healthcheck: z.object({ test: z.array(z.string()).optional(), disable: z.boolean().optional() }).optional(),
  ports: z.array(z.object({ target: z.number(), published: z.string().optional() })).optional(),
  profiles: z.array(z.string()).optional(),
})
type Service = z.infer<typeof Service>
const Resolved = z.object({
  services: z.record(z.string(), Service),
  volumes: z.record(z.string(), z.unknown()).optional(),
})
type Resolved = z.infer<typeof Resolved>

function resolve(vars: Record<string, string>): Resolved {
  const out = composeConfig(vars)
  assert.equal(out.status, 0, `docker-compose config failed:\n${out.stderr}`)
  return Resolved.parse(JSON.parse(out.stdout))
}
let resolvedCache: Resolved | undefined
const resolved = (): Resolved => (resolvedCache ??= resolve(ENV))
const service = (name: string): Service => {
  const s = resolved().services[name]
  assert.ok(s, `service ${name} in docker-compose.yml`)
  return s
}
const env = (s: Service): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? '']))
/** The repo file bound at `target` in the container (compose made the source absolute). */
const boundFile = (s: Service, target: string): string => {
  const v = s.volumes?.find((x) => x.type === 'bind' && x.target === target)
  assert.ok(v?.source, `a bind mount at ${target}`)
  assert.ok(existsSync(v.source), `${v.source} exists`)
  return v.source
}
const url = (u: string) => new URL(u)

/** The Dockerfile's instructions (continuations joined, comments dropped), by stage. */
function dockerfile(path: string): Array<Array<{ op: string; args: string }>> {
  const stages: Array<Array<{ op: string; args: string }>> = []
  const text = read(path).replace(/\\\n/g, ' ')
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line)
    if (!m || line.trimStart().startsWith('#')) continue
    if (m[1] === 'FROM') stages.push([])
    stages.at(-1)?.push({ op: m[1]!, args: m[2]!.trim() })
  }
  return stages
}

let store: StoreClient | undefined
after(async () => {
  await store?.client.close()
})

test('the compose CLI resolves the file, with every service the stack promises', () => {
  assert.deepEqual(Object.keys(resolved().services).sort(), [
    'clickhouse',
    'gatewarden',
    'grafana',
    'kafka',
    'litellm',
    'mailpit',
    'otel-collector',
    'prometheus',
  ])
  assert.deepEqual(service('kafka').profiles, ['kafka'])
  assert.deepEqual(service('litellm').profiles, ['litellm'])
})

test('without the secrets from .env, compose refuses the file and names the variable', () => {
  for (const name of ['GATEWARDEN_AUTH_TOKEN', 'CLICKHOUSE_PASSWORD', 'GRAFANA_ADMIN_PASSWORD']) {
    const vars: Record<string, string> = { ...ENV }
    delete vars[name]
    const out = composeConfig(vars)
    assert.notEqual(out.status, 0, `config passed without ${name}`)
    assert.match(out.stderr, new RegExp(`required variable ${name} is missing`), out.stderr)
  }
  // every variable compose reads is listed in .env.example, and no secret is written there
  const text = read('docker-compose.yml')
  const used = new Set([...text.matchAll(/\$\{([A-Z_]+)[:?}]/g)].map((m) => m[1]!))
  const listed = new Map(
    read('.env.example')
      .split('\n')
      .flatMap((l) => (/^[A-Z_]+=/.test(l) ? [l.split('=') as [string, string]] : [])),
  )
  assert.deepEqual(
    [...used].filter((v) => !listed.has(v)),
    [],
  )
  for (const secret of [...listed.keys()].filter((k) => /TOKEN|PASSWORD|KEY/.test(k)))
    assert.equal(listed.get(secret), '', `${secret} is empty in .env.example`)
})

test('every long-running service has a health check; state lives on named volumes; binds are read-only repo files', () => {
  const r = resolved()
  for (const [name, s] of Object.entries(r.services)) {
    assert.ok(s.healthcheck?.test && s.healthcheck.test.length > 1, `${name} has a health check`)
    assert.notEqual(s.healthcheck.test[0], 'NONE', name)
    assert.notEqual(s.healthcheck.disable, true, name)
    for (const v of s.volumes ?? []) {
      if (v.type === 'volume')
        assert.ok(v.source && r.volumes?.[v.source], `${name}: volume ${v.source} declared`)
      else {
        assert.equal(v.type, 'bind', `${name}: ${v.target}`)
        assert.equal(v.read_only, true, `${name}: ${v.source} is mounted read-only`)
        assert.ok(
          v.source && !relative(REPO_ROOT, v.source).startsWith('..'),
          `${name}: ${v.source} in the repo`,
        )
        assert.ok(existsSync(v.source), `${name}: ${v.source} exists`)
      }
    }
  }
  const data: Array<[string, string]> = [
    ['clickhouse', '/var/lib/clickhouse'],
    ['prometheus', '/prometheus'],
    ['grafana', '/var/lib/grafana'],
    ['kafka', '/var/lib/kafka/data'],
    ['mailpit', '/data'],
  ]
  for (const [name, dir] of data)
    assert.ok(
      service(name).volumes?.some((v) => v.type === 'volume' && v.target === dir),
      `${name} keeps ${dir} on a named volume`,
    )
  assert.equal(env(service('kafka')).KAFKA_LOG_DIRS, '/var/lib/kafka/data')
  assert.match(env(service('mailpit')).MP_DATABASE ?? '', /^\/data\//)
})

test("the ClickHouse server is of the embedded engine's major.minor version; Kafka is the broker the tests run", async () => {
  store = await freshStore('compose')
  const [v] = await rows<{ v: string }>(store, 'SELECT version() AS v')
  const engine = v!.v.split('.').slice(0, 2).join('.')
  const tag = /^clickhouse\/clickhouse-server:(\d+\.\d+)/.exec(service('clickhouse').image ?? '')?.[1]
  // CLICKHOUSE_URL points the tests at a server: then the pin is checked against that server instead
  assert.equal(tag, engine, `compose pins ${tag}, the engine here is ${v!.v}`)

  const kafka = service('kafka')
  const tested = /version="\$\{KAFKA_VERSION:-([0-9.]+)\}"/.exec(read('scripts/kafka/install.sh'))?.[1]
  assert.equal(kafka.image, `apache/kafka:${tested}`)
  const kenv = env(kafka)
  assert.equal(kenv.KAFKA_PROCESS_ROLES, 'broker,controller', 'KRaft, no ZooKeeper')
})

/** Gatewarden's config as its process in the stack loads it: the image's ENV, the compose environment over it. */
function gatewardenConfig(gw: Service) {
  const imageEnv = Object.fromEntries(
    dockerfile('Dockerfile')
      .at(-1)!
      .filter((i) => i.op === 'ENV')
      .flatMap((i) => i.args.split(/\s+/).map((kv) => kv.split('=') as [string, string])),
  )
  const composed = env(gw)
  const configFile = boundFile(gw, composed.GATEWARDEN_CONFIG!)
  return loadConfig({ ...imageEnv, ...composed, GATEWARDEN_CONFIG: configFile })
}

test('every setting compose gives Gatewarden parses through the real config loader', () => {
  const gw = service('gatewarden')
  assert.deepEqual(gw.build, { context: REPO_ROOT, dockerfile: 'Dockerfile' })
  const composed = env(gw)
  // nothing compose passes is a name Gatewarden does not read (a typo would be silently ignored)
  const known = new Set([...ENV_OVERRIDES.map(([name]) => name), 'GATEWARDEN_CONFIG'])
  assert.deepEqual(
    Object.keys(composed).filter((k) => !known.has(k) && !k.startsWith('OTEL_')),
    [],
  )
  const config = gatewardenConfig(gw)

  assert.equal(config.server.host, '0.0.0.0')
  assert.equal(config.server.auth_token, ENV.GATEWARDEN_AUTH_TOKEN)
  assert.equal(config.store.clickhouse_url, 'http://clickhouse:8123')
  assert.equal(config.store.clickhouse_password, ENV.CLICKHOUSE_PASSWORD)
  assert.equal(config.store.clickhouse_user, env(service('clickhouse')).CLICKHOUSE_USER)
  assert.deepEqual(config.kafka?.brokers, ['kafka:9092'])
  assert.deepEqual(config.kafka?.topics, ['litellm-spend'])
  assert.equal(config.enforcement.mode, 'dry_run')
  assert.ok(config.budgets.length > 0, 'an example budget, for the burn panel')
  assert.ok(gw.ports?.some((p) => p.target === config.server.port))

  // the email channel sends to the mail catcher's SMTP port; its sender builds with the compose env
  const [email] = config.alerts.channels
  assert.equal(email?.type, 'email')
  const smtp = url(email.smtp_url)
  assert.equal(smtp.hostname, 'mailpit')
  assert.ok(service('mailpit').ports?.some((p) => p.target === Number(smtp.port)))
  assert.match(service('mailpit').image ?? '', /^axllent\/mailpit:/)
  const senders = createAlertSenders(config.alerts.channels, {
    secrets: (n) => composed[n],
    log: silentLog,
  })
  assert.equal(senders.length, 1)

  // own traces go to the collector's OTLP/HTTP receiver (the SDK reads these; metrics stay on /metrics)
  assert.equal(url(composed.OTEL_EXPORTER_OTLP_ENDPOINT!).hostname, 'otel-collector')
  assert.ok(['http/protobuf', 'http/json', 'grpc'].includes(composed.OTEL_EXPORTER_OTLP_PROTOCOL!))
  assert.equal(composed.OTEL_METRICS_EXPORTER, 'none')
})

test(".env.example as it is (no Kafka brokers) and with topics named: Gatewarden's config still loads", () => {
  const plain = { ...ENV, KAFKA_BROKERS: '', KAFKA_TOPICS: 'other-topic' }
  assert.equal(gatewardenConfig(resolve(plain).services.gatewarden!).kafka, undefined)
  const named = { ...ENV, KAFKA_TOPICS: 'a,b' }
  assert.deepEqual(gatewardenConfig(resolve(named).services.gatewarden!).kafka?.topics, ['a', 'b'])
})

test('the OpenTelemetry Collector: its config is whole, takes OTLP from Gatewarden and LiteLLM, and sends on to Gatewarden', () => {
  const col = service('otel-collector')
  const cfgPath = boundFile(col, '/etc/otelcol-contrib/config.yaml') // the contrib image's default --config
  const Pipeline = z.object({
    receivers: z.array(z.string()),
    processors: z.array(z.string()).default([]),
    exporters: z.array(z.string()),
  })
  const Section = z.record(z.string(), z.unknown())
  const cfg = z
    .object({
      extensions: Section.default({}),
      receivers: Section,
      processors: Section.default({}),
      exporters: Section,
      service: z.object({
        extensions: z.array(z.string()).default([]),
        pipelines: z.record(z.string(), Pipeline),
      }),
    })
    .parse(parseYaml(readFileSync(cfgPath, 'utf8')))
  for (const e of cfg.service.extensions) assert.ok(e in cfg.extensions, `extension ${e} defined`)
  for (const [name, p] of Object.entries(cfg.service.pipelines)) {
    assert.match(name, /^traces(\/|$)/)
    for (const r of p.receivers) assert.ok(r in cfg.receivers, `${name}: receiver ${r}`)
    for (const x of p.processors) assert.ok(x in cfg.processors, `${name}: processor ${x}`)
    for (const x of p.exporters) assert.ok(x in cfg.exporters, `${name}: exporter ${x}`)
  }

  // the health check asks the health_check extension, with the busybox the collector's image adds
  const health = z.object({ endpoint: z.string() }).parse(cfg.extensions.health_check)
  const probe = col.healthcheck!.test!
  assert.ok(
    probe.some((a) => a.includes(`:${health.endpoint.split(':')[1]}`)),
    probe.join(' '),
  )
  const stages = dockerfile(relative(REPO_ROOT, join(col.build!.context, col.build!.dockerfile)))
  assert.match(stages.at(-1)![0]!.args, /^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/)
  assert.ok(stages.at(-1)!.some((i) => i.op === 'COPY' && i.args.endsWith(` ${probe[1]}`)))

  // OTLP/HTTP in on the port Gatewarden and LiteLLM send to
  const otlp = z
    .object({ protocols: z.object({ http: z.object({ endpoint: z.string() }) }) })
    .parse(cfg.receivers.otlp)
  const httpPort = otlp.protocols.http.endpoint.split(':')[1]
  assert.equal(url(env(service('gatewarden')).OTEL_EXPORTER_OTLP_ENDPOINT!).port, httpPort)
  const ll = url(env(service('litellm')).OTEL_ENDPOINT!)
  assert.deepEqual([ll.hostname, ll.port, ll.pathname], ['otel-collector', httpPort, '/v1/traces'])
  assert.equal(env(service('litellm')).OTEL_EXPORTER, 'otlp_http')

  // out to Gatewarden's /v1/traces with the token from .env; Gatewarden's own spans are not sent back
  const [toGw] = Object.entries(cfg.service.pipelines).filter(([, p]) =>
    p.exporters.includes('otlphttp/gatewarden'),
  )
  assert.ok(toGw, 'a pipeline exporting to Gatewarden')
  const exp = z
    .object({ endpoint: z.string(), headers: z.record(z.string(), z.string()) })
    .parse(cfg.exporters['otlphttp/gatewarden'])
  assert.equal(exp.endpoint, 'http://gatewarden:4318')
  assert.equal(exp.headers.Authorization, 'Bearer ${env:GATEWARDEN_AUTH_TOKEN}')
  assert.equal(env(col).GATEWARDEN_AUTH_TOKEN, ENV.GATEWARDEN_AUTH_TOKEN)
  const own = env(service('gatewarden')).OTEL_SERVICE_NAME
  const filters = toGw[1].processors.map((p) => JSON.stringify(cfg.processors[p]))
  assert.ok(
    filters.some((f) => f.includes(`service.name\\"] == \\"${own}\\"`)),
    `spans of service.name ${own} dropped before ${toGw[0]}`,
  )
  assert.ok(Object.values(cfg.service.pipelines).some((p) => p.exporters.includes('debug')))
})

test("Grafana gets the ClickHouse plugin, the provisioning and the three dashboards; the data sources are the variables' defaults", () => {
  const grafana = service('grafana')
  assert.match(env(grafana).GF_INSTALL_PLUGINS ?? '', /(^|,)grafana-clickhouse-datasource(,|$)/)
  assert.equal(boundFile(grafana, '/etc/grafana/provisioning'), join(REPO_ROOT, 'dashboards/provisioning'))
  assert.equal(boundFile(grafana, '/var/lib/grafana/dashboards'), join(REPO_ROOT, 'dashboards'))
  const provider = z
    .object({ providers: z.array(z.object({ options: z.object({ path: z.string() }) })) })
    .parse(yaml('dashboards/provisioning/dashboards/gatewarden.yaml'))
  assert.deepEqual(
    provider.providers.map((p) => p.options.path),
    ['/var/lib/grafana/dashboards'],
  )
  const Ds = z.object({
    datasources: z.array(z.object({ uid: z.string(), type: z.string(), url: z.string().optional() })),
  })
  const prom = Ds.parse(yaml('dashboards/provisioning/datasources/prometheus.yaml')).datasources
  assert.deepEqual(
    prom.map((d) => [d.uid, d.type, d.url]),
    [['gatewarden-prometheus', 'prometheus', 'http://prometheus:9090']],
  )
  const ch = Ds.parse(yaml('dashboards/provisioning/datasources/clickhouse.yaml')).datasources
  assert.deepEqual(
    ch.map((d) => [d.uid, d.type]),
    [['gatewarden-clickhouse', 'grafana-clickhouse-datasource']],
  )
  for (const file of ['gatewarden-spend.json', 'gatewarden-guardrails.json', 'gatewarden-pipeline.json']) {
    const d = z
      .object({
        templating: z.object({ list: z.array(z.object({ name: z.string(), current: z.unknown() })) }),
      })
      .parse(JSON.parse(read(join('dashboards', file))))
    const current = (name: string) =>
      (d.templating.list.find((v) => v.name === name)?.current as { value?: string } | undefined)?.value
    assert.equal(current('datasource'), 'gatewarden-clickhouse', file)
    const p = current('prometheus')
    if (d.templating.list.some((v) => v.name === 'prometheus')) assert.equal(p, 'gatewarden-prometheus', file)
  }
})

test('Prometheus scrapes Gatewarden; LiteLLM runs the generic_api logger, the guardrail hook and the otel callback', () => {
  const scrape = z
    .object({
      scrape_configs: z.array(
        z.object({ static_configs: z.array(z.object({ targets: z.array(z.string()) })) }),
      ),
    })
    .parse(
      parseYaml(readFileSync(boundFile(service('prometheus'), '/etc/prometheus/prometheus.yml'), 'utf8')),
    )
  assert.deepEqual(
    scrape.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets)),
    ['gatewarden:4318'],
  )

  const litellm = service('litellm')
  const lenv = env(litellm)
  assert.equal(lenv.GATEWARDEN_URL, 'http://gatewarden:4318')
  assert.equal(lenv.GATEWARDEN_AUTH_TOKEN, ENV.GATEWARDEN_AUTH_TOKEN)
  assert.equal(lenv.GENERIC_LOGGER_HEADERS, `Authorization=Bearer ${ENV.GATEWARDEN_AUTH_TOKEN}`)
  assert.equal(lenv.LITELLM_MASTER_KEY, ENV.LITELLM_MASTER_KEY)
  assert.equal(
    boundFile(litellm, '/app/gatewarden_guardrail.py'),
    join(REPO_ROOT, 'integrations/litellm/gatewarden_guardrail.py'),
  )
  const configAt = litellm.command?.[litellm.command.indexOf('--config') + 1]
  assert.ok(configAt, 'litellm --config')
  const cfg = z
    .object({
      litellm_settings: z.object({ callbacks: z.array(z.string()) }),
      callback_settings: z.object({
        gatewarden: z.object({ callback_type: z.string(), endpoint: z.string() }),
      }),
    })
    .parse(parseYaml(readFileSync(boundFile(litellm, configAt), 'utf8')))
  assert.deepEqual(cfg.litellm_settings.callbacks, [
    'gatewarden',
    'gatewarden_guardrail.proxy_handler_instance',
    'otel',
  ])
  assert.equal(cfg.callback_settings.gatewarden.callback_type, 'generic_api')
  assert.equal(cfg.callback_settings.gatewarden.endpoint, 'http://gatewarden:4318/ingest/litellm')
})

test('the Dockerfile installs and builds with the commands CI runs, on the Node major CI runs', () => {
  // CI runs .ci/run -> npm run -s test:all -> scripts/test-all.sh
  assert.match(read('.ci/run'), /^exec npm run -s test:all$/m)
  const pkg = z
    .object({ scripts: z.record(z.string(), z.string()), engines: z.object({ node: z.string() }) })
    .parse(JSON.parse(read('package.json')))
  assert.equal(pkg.scripts['test:all'], 'bash scripts/test-all.sh')
  const normal = (cmd: string) =>
    cmd
      .replace(/\s+/g, ' ')
      .replace(/^npm run -s /, 'npm run ')
      .trim()
  const ci = read('scripts/test-all.sh')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^npm /.test(l))
    .map(normal)

  const stages = dockerfile('Dockerfile')
  const runs = stages.flatMap((s) =>
    s.filter((i) => i.op === 'RUN').flatMap((i) => i.args.split('&&').map(normal)),
  )
  const npm = runs.filter((c) => c.startsWith('npm '))
  // `npm prune --omit=dev` only trims the image after the build; every other npm command is CI's
  assert.deepEqual(
    npm.filter((c) => c !== 'npm prune --omit=dev'),
    ['npm install --no-audit --no-fund', 'npm run build'],
  )
  for (const c of npm.filter((x) => x !== 'npm prune --omit=dev')) assert.ok(ci.includes(c), `CI runs ${c}`)
  // the lock is in the image before the install, as in CI's clone
  const build = stages[0]!
  const lockAt = build.findIndex((i) => i.op === 'COPY' && i.args.includes('package-lock.json'))
  const installAt = build.findIndex((i) => i.op === 'RUN' && i.args.startsWith('npm install'))
  assert.ok(lockAt >= 0 && lockAt < installAt, 'package-lock.json copied before npm install')

  const ciMajor = Number(process.versions.node.split('.')[0])
  for (const s of stages) {
    const major = Number(/^node:(\d+)/.exec(s[0]!.args)?.[1])
    assert.equal(major, ciMajor, `${s[0]!.args}: CI runs Node ${process.versions.node}`)
    assert.ok(major >= Number(/\d+/.exec(pkg.engines.node)?.[0]), `engines ${pkg.engines.node}`)
  }
})
