// Alerts: firing and recent alerts, silence one from the page, and the active silences (remove one).
import { api, ApiError } from '../api.js'
import { h, notice, table, when } from '../dom.js'

const DURATIONS = ['1h', '4h', '1d', '7d']

function silenceForm(alert, rerender) {
  const duration = h(
    'select',
    { name: 'duration' },
    DURATIONS.map((d) => h('option', { value: d, selected: d === '4h' }, d)),
  )
  const comment = h('input', { name: 'comment', placeholder: 'why (optional)', maxlength: 2000 })
  const status = h('span', { class: 'muted' })
  return h(
    'form',
    {
      class: 'inline silence-form',
      'data-alert': alert.id,
      onsubmit: async (e) => {
        e.preventDefault()
        try {
          await api('api/silences', {
            method: 'POST',
            body: {
              matcher: { dedupe_key: alert.dedupe_key },
              duration: duration.value,
              comment: comment.value,
              created_by: 'console',
            },
          })
          await rerender()
        } catch (err) {
          status.textContent = err.message
          status.className = 'error'
        }
      },
    },
    duration,
    comment,
    h('button', { type: 'submit' }, 'Silence'),
    status,
  )
}

function alertRow(a, rerender) {
  return h(
    'tr',
    { id: `alert-${a.id}`, 'data-alert': a.id, 'data-state': a.state },
    h(
      'td',
      { class: `state-${a.state}` },
      a.state,
      a.silenced ? h('div', { class: 'muted' }, 'silenced') : null,
    ),
    h('td', {}, a.severity),
    h('td', {}, a.type),
    h('td', {}, `${a.scope.kind}: ${a.scope.id}`),
    h(
      'td',
      {},
      when(a.started_at),
      a.resolved_at ? h('div', { class: 'muted' }, `resolved ${when(a.resolved_at)}`) : null,
    ),
    h('td', {}, a.summary, a.state === 'firing' && !a.silenced ? silenceForm(a, rerender) : null),
  )
}

export async function alertsPage(root, _args, { rerender }) {
  root.append(h('h1', {}, 'Alerts'))
  let firing, recent, silences
  try {
    const since = new Date(Date.now() - 7 * 86_400_000).toISOString()
    ;[firing, recent, silences] = await Promise.all([
      api('api/alerts', { query: { state: 'firing' } }),
      api('api/alerts', { query: { state: 'resolved', since, limit: 100 } }),
      api('api/silences'),
    ])
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return void root.append(notice(err.message))
    throw err
  }
  const heads = ['state', 'severity', 'type', 'scope', 'started', 'summary']
  root.append(
    h(
      'section',
      { class: 'card' },
      h('h2', {}, `Firing (${firing.alerts.length})`),
      table(
        heads,
        firing.alerts.map((a) => alertRow(a, rerender)),
        { id: 'firing' },
        'nothing firing',
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Resolved in the last 7 days'),
      table(
        heads,
        recent.alerts.map((a) => alertRow(a, rerender)),
        { id: 'recent' },
        'none resolved in the last 7 days',
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Active silences'),
      table(
        ['matcher', 'comment', 'by', 'expires', ''],
        silences.silences.map((s) =>
          h(
            'tr',
            { 'data-silence': s.id },
            h(
              'td',
              {},
              h(
                'code',
                {},
                Object.entries(s.matcher)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' '),
              ),
            ),
            h('td', {}, s.comment),
            h('td', {}, s.created_by),
            h('td', {}, when(s.expires_at)),
            h(
              'td',
              {},
              h(
                'button',
                {
                  type: 'button',
                  onclick: async () => {
                    await api(`api/silences/${encodeURIComponent(s.id)}`, { method: 'DELETE' })
                    await rerender()
                  },
                },
                'Remove',
              ),
            ),
          ),
        ),
        { id: 'silences' },
        'no active silence',
      ),
    ),
  )
}
