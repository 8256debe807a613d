// Pipeline: the store's health, events per hour, what ingest counted (per source), dead letters with their
// reasons, and Kafka lag per partition; from /healthz, /api/cost, /metrics and /api/dead-letters.
import { api, cost, health, metricsText } from '../api.js'
import { bucketSeconds, lineChart } from '../chart.js'
import { h, int, notice, table, when } from '../dom.js'
import { parseMetrics, samples } from '../metrics.js'
import { range } from '../period.js'

const COUNTERS = [
  ['gatewarden_events_accepted_total', 'accepted'],
  ['gatewarden_events_duplicate_total', 'duplicates'],
  ['gatewarden_events_dead_lettered_total', 'dead-lettered'],
]

export async function pipelinePage(root) {
  const r = range('last_24h')
  const [hz, metrics, hours, dead] = await Promise.all([
    health(),
    metricsText().then(parseMetrics),
    cost({ group_by: 'hour', from: r.from, to: r.to }),
    api('api/dead-letters', { query: { limit: 100 } }),
  ])
  const sources = [
    ...new Set(COUNTERS.flatMap(([m]) => samples(metrics, m).map((s) => s.labels.source))),
  ].sort()
  const lag = samples(metrics, 'gatewarden_kafka_consumer_lag')
  const chart = h('div', { class: 'chart', id: 'ingest-chart' })
  const xs = []
  for (let t = Date.parse(r.from) / 1000; t < Date.parse(r.to) / 1000; t += 3600) xs.push(t)
  const perHour = new Map(hours.map((x) => [bucketSeconds(x.hour), x.requests]))
  root.append(
    h('h1', {}, 'Pipeline'),
    h(
      'section',
      { class: 'card', id: 'health' },
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'muted' }, 'Store'),
        h('span', { class: 'value' }, `${hz.store} (${hz.store_kind})`),
      ),
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'muted' }, 'Rows waiting for the store'),
        h('span', { class: 'value' }, int(hz.pending_rows)),
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Requests per hour, last 24 hours (by event time, /api/cost)'),
      chart,
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Ingested since start, per source (/metrics)'),
      table(
        ['source', ...COUNTERS.map(([, t]) => h('th', { class: 'num' }, t))],
        sources.map((s) =>
          h(
            'tr',
            { 'data-source': s },
            h('td', {}, s),
            COUNTERS.map(([m]) =>
              h('td', { class: 'num' }, int(samples(metrics, m, { source: s })[0]?.value ?? 0)),
            ),
          ),
        ),
        { id: 'ingest-counters' },
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Kafka consumer lag'),
      lag.length === 0
        ? notice('No Kafka consumer in this process (kafka.brokers not set), or no partition assigned yet.')
        : table(
            ['topic', 'partition', h('th', { class: 'num' }, 'lag (messages)')],
            lag.map((s) =>
              h(
                'tr',
                {},
                h('td', {}, s.labels.topic ?? ''),
                h('td', {}, s.labels.partition ?? ''),
                h('td', { class: 'num' }, int(s.value)),
              ),
            ),
            { id: 'kafka-lag' },
          ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, `Dead letters (newest ${dead.dead_letters.length})`),
      table(
        ['received', 'source', 'reason', 'origin', 'raw input (start)'],
        dead.dead_letters.map((d) =>
          h(
            'tr',
            {},
            h('td', {}, when(String(d.received_at).replace(' ', 'T'))),
            h('td', {}, d.source),
            h('td', {}, d.code ? h('code', {}, d.code) : null, d.code ? ' ' : null, d.reason),
            h('td', {}, d.origin),
            h('td', {}, h('code', {}, String(d.raw).slice(0, 160))),
          ),
        ),
        { id: 'dead-letters' },
      ),
    ),
  )
  const draw = () => {
    if (!chart.isConnected) return requestAnimationFrame(draw)
    lineChart(
      chart,
      xs,
      'requests',
      xs.map((x) => perHour.get(x) ?? 0),
      { format: int },
    )
  }
  requestAnimationFrame(draw)
}
