import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Alert, Notification } from './alert.js'
import { renderEmail, renderPagerDutyEvents, renderSlack, renderWebhookBody, WebhookBody } from './render.js'

const t0 = Date.parse('2026-11-24T12:00:00Z')

const burn: Alert = {
  id: 'a1',
  dedupe_key: 'burn_rate|customer:acme|acme-monthly',
  type: 'burn_rate',
  severity: 'page',
  state: 'firing',
  scope: { kind: 'customer', id: 'acme' },
  started_at: t0,
  resolved_at: null,
  updated_at: t0,
  summary: 'acme burns its $500 monthly budget 15.2x too fast',
  details: { burn_rate: 15.2, remaining_usd: 120.5, budget: 'acme-monthly' },
  links: { page: 'https://gw.example.com/alerts/a1', grafana: 'https://grafana.example.com/d/x?a=1&b=2' },
}

/** Everything a receiver could be tricked by: markup, quotes, a newline (header injection), a bad link. */
const hostile: Alert = {
  id: 'a2',
  dedupe_key: 'loop|key:k<1>',
  type: 'loop',
  severity: 'ticket',
  state: 'firing',
  scope: { kind: 'key', id: 'k<1>' },
  started_at: t0,
  resolved_at: null,
  updated_at: t0,
  summary: '<script>alert("x")</script> & \'q\'\r\nBcc: victim@example.com',
  details: { '<b>k</b>': '<img src=x onerror=1>', n: null },
  links: { page: 'javascript:alert(1)' },
}

function loopAlert(i: number, state: 'firing' | 'resolved' = 'resolved'): Alert {
  return {
    id: `l${i}`,
    dedupe_key: `loop|key:k${i}|fp`,
    type: 'loop',
    severity: 'info',
    state,
    scope: { kind: 'key', id: `k${i}` },
    started_at: t0,
    resolved_at: state === 'resolved' ? t0 + 60_000 : null,
    updated_at: t0 + 60_000,
    summary: `key k${i} repeats one request`,
    details: { repeats: 5 },
    links: {},
  }
}

const notif = (kind: Notification['kind'], alerts: Alert[], channel = 'ops'): Notification => ({
  id: 'ntf_1',
  channel,
  kind,
  alerts,
  created_at: t0 + 30_000,
})

test('email: subject, text and HTML goldens', () => {
  const cases: Array<{
    name: string
    n: Notification
    max?: number
    want: { subject: string; text: string; html: string }
  }> = [
    {
      name: 'one burn-rate alert with links',
      n: notif('firing', [burn]),
      want: {
        subject:
          '[Gatewarden] FIRING [page] burn_rate customer acme: acme burns its $500 monthly budget 15.2x too fast',
        text: [
          'FIRING [page]: 1 burn_rate alert',
          '',
          '1. [page] customer acme: acme burns its $500 monthly budget 15.2x too fast',
          '   type: burn_rate, state: firing, alert: a1',
          '   started: 2026-11-24T12:00:00.000Z',
          '   burn_rate: 15.2',
          '   remaining_usd: 120.5',
          '   budget: acme-monthly',
          '   Gatewarden: https://gw.example.com/alerts/a1',
          '   Grafana: https://grafana.example.com/d/x?a=1&b=2',
          '',
          'Notification ntf_1 (firing) at 2026-11-24T12:00:30.000Z, sent by Gatewarden.',
          '',
        ].join('\n'),
        html:
          '<!doctype html><html><body><h2>FIRING [page]: 1 burn_rate alert</h2>' +
          '<h3>acme burns its $500 monthly budget 15.2x too fast</h3><table cellpadding="4">' +
          '<tr><th align="left">type</th><td>burn_rate</td></tr>' +
          '<tr><th align="left">severity</th><td>page</td></tr>' +
          '<tr><th align="left">state</th><td>firing</td></tr>' +
          '<tr><th align="left">scope</th><td>customer acme</td></tr>' +
          '<tr><th align="left">started</th><td>2026-11-24T12:00:00.000Z</td></tr>' +
          '<tr><th align="left">burn_rate</th><td>15.2</td></tr>' +
          '<tr><th align="left">remaining_usd</th><td>120.5</td></tr>' +
          '<tr><th align="left">budget</th><td>acme-monthly</td></tr></table>' +
          '<p><a href="https://gw.example.com/alerts/a1">Gatewarden</a> | ' +
          '<a href="https://grafana.example.com/d/x?a=1&amp;b=2">Grafana</a></p>' +
          '<p><small>Notification ntf_1 (firing) at 2026-11-24T12:00:30.000Z, sent by Gatewarden.</small></p></body></html>',
      },
    },
    {
      name: 'hostile text is escaped, kept on one line, and a javascript: link is dropped',
      n: notif('renotify', [hostile]),
      want: {
        subject: `[Gatewarden] STILL FIRING [ticket] loop key k<1>: <script>alert("x")</script> & 'q' Bcc: victim@example.com`,
        text: [
          'STILL FIRING [ticket]: 1 loop alert',
          '',
          `1. [ticket] key k<1>: <script>alert("x")</script> & 'q' Bcc: victim@example.com`,
          '   type: loop, state: firing, alert: a2',
          '   started: 2026-11-24T12:00:00.000Z',
          '   <b>k</b>: <img src=x onerror=1>',
          '   n: -',
          '',
          'Notification ntf_1 (renotify) at 2026-11-24T12:00:30.000Z, sent by Gatewarden.',
          '',
        ].join('\n'),
        html:
          '<!doctype html><html><body><h2>STILL FIRING [ticket]: 1 loop alert</h2>' +
          '<h3>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; Bcc: victim@example.com</h3>' +
          '<table cellpadding="4"><tr><th align="left">type</th><td>loop</td></tr>' +
          '<tr><th align="left">severity</th><td>ticket</td></tr>' +
          '<tr><th align="left">state</th><td>firing</td></tr>' +
          '<tr><th align="left">scope</th><td>key k&lt;1&gt;</td></tr>' +
          '<tr><th align="left">started</th><td>2026-11-24T12:00:00.000Z</td></tr>' +
          '<tr><th align="left">&lt;b&gt;k&lt;/b&gt;</th><td>&lt;img src=x onerror=1&gt;</td></tr>' +
          '<tr><th align="left">n</th><td>-</td></tr></table>' +
          '<p><small>Notification ntf_1 (renotify) at 2026-11-24T12:00:30.000Z, sent by Gatewarden.</small></p></body></html>',
      },
    },
  ]
  for (const c of cases) assert.deepEqual(renderEmail(c.n, c.max), c.want, c.name)
})

test('email: a big group is capped with "and N more"; resolved alerts show both instants', () => {
  const alerts = Array.from({ length: 12 }, (_, i) => loopAlert(i))
  const e = renderEmail(notif('resolved', alerts), 3)
  assert.equal(e.subject, '[Gatewarden] RESOLVED [info] 12 loop alerts')
  assert.match(e.text, /^RESOLVED \[info\]: 12 loop alerts\n/)
  assert.match(e.text, /\n3\. \[info\] key k2: key k2 repeats one request\n/)
  assert.doesNotMatch(e.text, /key k3:/)
  assert.match(e.text, /\n {3}resolved: 2026-11-24T12:01:00\.000Z\n/)
  assert.match(e.text, /\n\nand 9 more alerts\n\n/)
  assert.match(e.html, /<p>and 9 more alerts<\/p>/)
  assert.equal(e.html.match(/<h3>/g)?.length, 3)
})

test('email: a long subject is cut at 200 code points', () => {
  const e = renderEmail(notif('firing', [{ ...burn, summary: '€'.repeat(500) }]))
  assert.equal(Array.from(e.subject).length, 200)
  assert.ok(e.subject.endsWith('€…'))
})

test('slack: Block Kit goldens', () => {
  const cases: Array<{ name: string; n: Notification; max?: number; want: unknown }> = [
    {
      name: 'one alert: header, section with detail fields, context with links',
      n: notif('firing', [burn]),
      want: {
        text: 'FIRING [page] burn_rate customer acme: acme burns its $500 monthly budget 15.2x too fast',
        blocks: [
          {
            type: 'header',
            text: {
              type: 'plain_text',
              text: 'FIRING [page] burn_rate customer acme: acme burns its $500 monthly budget 15.2x too fast',
              emoji: false,
            },
          },
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: '*acme burns its $500 monthly budget 15.2x too fast*\ncustomer acme | burn_rate | page | firing since 2026-11-24T12:00:00.000Z',
            },
            fields: [
              { type: 'mrkdwn', text: '*burn_rate*\n15.2' },
              { type: 'mrkdwn', text: '*remaining_usd*\n120.5' },
              { type: 'mrkdwn', text: '*budget*\nacme-monthly' },
            ],
          },
          {
            type: 'context',
            elements: [
              {
                type: 'mrkdwn',
                text: '<https://gw.example.com/alerts/a1|Gatewarden> | <https://grafana.example.com/d/x?a=1&b=2|Grafana>',
              },
            ],
          },
        ],
      },
    },
    {
      name: 'hostile text escaped for mrkdwn, no link context',
      n: notif('firing', [hostile]),
      want: {
        text: `FIRING [ticket] loop key k&lt;1&gt;: &lt;script&gt;alert("x")&lt;/script&gt; &amp; 'q' Bcc: victim@example.com`,
        blocks: [
          {
            type: 'header',
            text: {
              type: 'plain_text',
              text: `FIRING [ticket] loop key k<1>: <script>alert("x")</script> & 'q' Bcc: victim@example.com`,
              emoji: false,
            },
          },
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: `*&lt;script&gt;alert("x")&lt;/script&gt; &amp; 'q' Bcc: victim@example.com*\nkey k&lt;1&gt; | loop | ticket | firing since 2026-11-24T12:00:00.000Z`,
            },
            fields: [
              { type: 'mrkdwn', text: '*&lt;b&gt;k&lt;/b&gt;*\n&lt;img src=x onerror=1&gt;' },
              { type: 'mrkdwn', text: '*n*\n-' },
            ],
          },
        ],
      },
    },
  ]
  for (const c of cases) assert.deepEqual(renderSlack(c.n, c.max), c.want, c.name)
})

test('slack: 500 alerts stay within Slack limits and end with "and N more"', () => {
  const alerts = Array.from({ length: 500 }, (_, i) => ({
    ...loopAlert(i),
    links: { page: `https://gw/a/${i}` },
  }))
  const m = renderSlack(notif('resolved', alerts))
  assert.equal(m.text, 'RESOLVED [info] 500 loop alerts')
  assert.equal(m.blocks.length, 1 + 10 * 2 + 1)
  assert.ok(m.blocks.length <= 50)
  assert.deepEqual(m.blocks.at(-1), {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: 'and 490 more alerts' }],
  })
  assert.deepEqual(m.blocks[1], {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: '*key k0 repeats one request*\nkey k0 | loop | info | resolved 2026-11-24T12:00:00.000Z to 2026-11-24T12:01:00.000Z',
    },
    fields: [{ type: 'mrkdwn', text: '*repeats*\n5' }],
  })
})

test('webhook: documented body, every alert, ISO times; the schema accepts it', () => {
  const cases: Array<{ name: string; n: Notification; want: WebhookBody }> = [
    {
      name: 'firing burn rate',
      n: notif('firing', [burn], 'hooks'),
      want: {
        version: 1,
        id: 'ntf_1',
        kind: 'firing',
        channel: 'hooks',
        created_at: '2026-11-24T12:00:30.000Z',
        alerts: [
          {
            id: 'a1',
            dedupe_key: 'burn_rate|customer:acme|acme-monthly',
            type: 'burn_rate',
            severity: 'page',
            state: 'firing',
            scope: { kind: 'customer', id: 'acme' },
            started_at: '2026-11-24T12:00:00.000Z',
            resolved_at: null,
            updated_at: '2026-11-24T12:00:00.000Z',
            summary: 'acme burns its $500 monthly budget 15.2x too fast',
            details: { burn_rate: 15.2, remaining_usd: 120.5, budget: 'acme-monthly' },
            links: {
              page: 'https://gw.example.com/alerts/a1',
              grafana: 'https://grafana.example.com/d/x?a=1&b=2',
            },
          },
        ],
      },
    },
    {
      name: 'resolved loop',
      n: notif('resolved', [loopAlert(7)], 'hooks'),
      want: {
        version: 1,
        id: 'ntf_1',
        kind: 'resolved',
        channel: 'hooks',
        created_at: '2026-11-24T12:00:30.000Z',
        alerts: [
          {
            id: 'l7',
            dedupe_key: 'loop|key:k7|fp',
            type: 'loop',
            severity: 'info',
            state: 'resolved',
            scope: { kind: 'key', id: 'k7' },
            started_at: '2026-11-24T12:00:00.000Z',
            resolved_at: '2026-11-24T12:01:00.000Z',
            updated_at: '2026-11-24T12:01:00.000Z',
            summary: 'key k7 repeats one request',
            details: { repeats: 5 },
            links: {},
          },
        ],
      },
    },
  ]
  for (const c of cases) {
    const body = renderWebhookBody(c.n)
    assert.deepEqual(body, c.want, c.name)
    assert.deepEqual(WebhookBody.parse(JSON.parse(JSON.stringify(body))), c.want, `${c.name}: round trip`)
  }
  assert.equal(
    renderWebhookBody(
      notif(
        'firing',
        Array.from({ length: 500 }, (_, i) => loopAlert(i)),
      ),
    ).alerts.length,
    500,
  )
})

test('pagerduty: one event per alert, trigger/resolve, dedup_key, severity mapping', () => {
  const cases: Array<{ name: string; n: Notification; want: unknown }> = [
    {
      name: 'page -> critical trigger with links and custom details',
      n: notif('firing', [burn]),
      want: [
        {
          event_action: 'trigger',
          dedup_key: 'burn_rate|customer:acme|acme-monthly',
          payload: {
            summary: 'acme burns its $500 monthly budget 15.2x too fast',
            source: 'gatewarden',
            severity: 'critical',
            timestamp: '2026-11-24T12:00:00.000Z',
            component: 'customer:acme',
            group: 'customer',
            class: 'burn_rate',
            custom_details: {
              burn_rate: 15.2,
              remaining_usd: 120.5,
              budget: 'acme-monthly',
              alert_id: 'a1',
              dedupe_key: 'burn_rate|customer:acme|acme-monthly',
              gatewarden_severity: 'page',
              started_at: '2026-11-24T12:00:00.000Z',
              notification: 'firing',
            },
          },
          links: [
            { text: 'Gatewarden', href: 'https://gw.example.com/alerts/a1' },
            { text: 'Grafana', href: 'https://grafana.example.com/d/x?a=1&b=2' },
          ],
          client: 'Gatewarden',
          client_url: 'https://gw.example.com/alerts/a1',
        },
      ],
    },
    {
      name: 'ticket -> warning, renotify is a trigger again, unsafe link dropped, global scope',
      n: notif('renotify', [{ ...hostile, scope: { kind: 'global', id: '' }, details: {} }]),
      want: [
        {
          event_action: 'trigger',
          dedup_key: 'loop|key:k<1>',
          payload: {
            summary: `<script>alert("x")</script> & 'q' Bcc: victim@example.com`,
            source: 'gatewarden',
            severity: 'warning',
            timestamp: '2026-11-24T12:00:00.000Z',
            component: 'global',
            group: 'global',
            class: 'loop',
            custom_details: {
              alert_id: 'a2',
              dedupe_key: 'loop|key:k<1>',
              gatewarden_severity: 'ticket',
              started_at: '2026-11-24T12:00:00.000Z',
              notification: 'renotify',
            },
          },
          links: [],
          client: 'Gatewarden',
        },
      ],
    },
    {
      name: 'resolved alerts -> resolve events only carrying the dedup key',
      n: notif('resolved', [loopAlert(1), loopAlert(2)]),
      want: [
        { event_action: 'resolve', dedup_key: 'loop|key:k1|fp' },
        { event_action: 'resolve', dedup_key: 'loop|key:k2|fp' },
      ],
    },
  ]
  for (const c of cases) assert.deepEqual(renderPagerDutyEvents(c.n), c.want, c.name)
})

test('pagerduty: info -> info, summary capped at 1024, long dedupe keys hashed stably', () => {
  const long = { ...loopAlert(1, 'firing'), summary: 'x'.repeat(5000), dedupe_key: 'k'.repeat(300) }
  const [ev] = renderPagerDutyEvents(notif('firing', [long]))
  assert.ok(ev && ev.event_action === 'trigger')
  assert.equal(ev.payload.severity, 'info')
  assert.equal(ev.payload.summary.length, 1024)
  assert.ok(ev.payload.summary.endsWith('x…'))
  assert.match(ev.dedup_key, /^gw:[0-9a-f]{64}$/)
  assert.equal(
    renderPagerDutyEvents(notif('resolved', [{ ...long, state: 'resolved' }]))[0]?.dedup_key,
    ev.dedup_key,
  )
})

/** A spend anomaly alert as the alert book makes it from the detector's finding. */
const anomaly: Alert = {
  id: 'sa1',
  dedupe_key: 'spend_anomaly:customer:acme',
  type: 'spend_anomaly',
  severity: 'page',
  state: 'firing',
  scope: { kind: 'customer', id: 'acme' },
  started_at: t0,
  resolved_at: null,
  updated_at: t0,
  summary:
    'customer acme: $42.10/h over the last 15m, 11.4x its usual $3.70/h for Thursdays 15:00 UTC, since Nov 26 at 15:07 UTC',
  details: {
    rate_usd_per_hour: 42.1,
    window: '15m',
    baseline: 'weekly',
    baseline_usd_per_hour: 3.7,
    baseline_for: 'for Thursdays 15:00 UTC',
    ratio: 11.38,
    since: '2026-11-26T15:07:00.000Z',
    peak_usd_per_hour: null,
    action: '{"action":"block"}',
  },
  links: { page: 'https://gw.example.com/alerts#sa1' },
}

test('render: a spend anomaly alert goes out by email, Slack, webhook and PagerDuty with its numbers', () => {
  const n = notif('firing', [anomaly])
  const email = renderEmail(n)
  assert.match(
    email.subject,
    /^\[Gatewarden\] FIRING \[page\] spend_anomaly customer acme: customer acme: \$42\.10\/h over the last 15m, 11\.4x its usual \$3\.70\/h for Thursdays 15:00 UTC/,
  )
  assert.match(email.text, /type: spend_anomaly/)
  assert.match(email.text, /baseline_usd_per_hour: 3\.7/)
  assert.match(email.text, /peak_usd_per_hour: -/)
  assert.match(email.html, /for Thursdays 15:00 UTC/)
  const slack = JSON.stringify(renderSlack(n))
  assert.match(slack, /spend_anomaly/)
  assert.match(slack, /11\.4x its usual \$3\.70\/h for Thursdays 15:00 UTC/)
  const body = WebhookBody.parse(renderWebhookBody(n))
  assert.equal(body.alerts[0]!.type, 'spend_anomaly')
  const [pd] = renderPagerDutyEvents(n)
  assert.equal(pd!.event_action, 'trigger')
  assert.match(JSON.stringify(pd), /spend_anomaly/)
  const resolved = renderEmail(
    notif('resolved', [{ ...anomaly, state: 'resolved', resolved_at: t0 + 3_600_000 }]),
  )
  assert.match(resolved.subject, /^\[Gatewarden\] RESOLVED \[page\] spend_anomaly customer acme/)
})
