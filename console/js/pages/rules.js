// Rules: guardrail rules in force (reason, expiry, lift), and the history of every rule with its audit.
import { api, ApiError } from '../api.js'
import { h, notice, table, when } from '../dom.js'

function action(a) {
  if (a.action === 'block') return 'block'
  return `downgrade ${Object.entries(a.map ?? {})
    .map(([from, to]) => `${from}→${to}`)
    .join(', ')}`
}
const reason = (r) => (r.kind === 'alert' ? `${r.alert_type}: ${r.summary}` : `${r.by}: ${r.why}`)

function history(rule, target) {
  return async () => {
    const { events } = await api(`api/rules/${encodeURIComponent(rule.id)}`)
    target.replaceChildren(
      table(
        ['at', 'event', 'actor', 'target', 'answer'],
        events.map((e) =>
          h(
            'tr',
            {},
            h('td', {}, when(e.at)),
            h('td', {}, e.kind),
            h('td', {}, e.actor),
            h('td', {}, e.target),
            h('td', {}, e.answer),
          ),
        ),
      ),
    )
  }
}

export async function rulesPage(root, _args, { rerender }) {
  root.append(h('h1', {}, 'Guardrail rules'))
  let active, all
  try {
    ;[active, all] = await Promise.all([
      api('api/rules', { query: { state: 'active' } }),
      api('api/rules', { query: { state: 'all', limit: 200 } }),
    ])
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return void root.append(notice(err.message))
    throw err
  }
  const audit = h('div', { id: 'rule-audit' })
  const lift = (rule, status) => async () => {
    try {
      await api(`api/rules/${encodeURIComponent(rule.id)}`, { method: 'DELETE', query: { by: 'console' } })
      await rerender()
    } catch (err) {
      status.textContent = err.message
      status.className = 'error'
    }
  }
  root.append(
    h(
      'section',
      { class: 'card' },
      h('h2', {}, `In force (${active.rules.length})`),
      table(
        ['scope', 'action', 'mode', 'state', 'reason', 'created', 'expires', ''],
        active.rules.map((r) => {
          const status = h('span')
          return h(
            'tr',
            { 'data-rule': r.id },
            h('td', {}, `${r.scope.kind}: ${r.scope.id}`),
            h('td', {}, action(r.action)),
            h('td', {}, r.mode),
            h('td', {}, r.state),
            h('td', {}, reason(r.reason)),
            h('td', {}, when(r.created_at)),
            h('td', {}, when(r.expires_at)),
            h(
              'td',
              {},
              h('button', { type: 'button', class: 'lift', onclick: lift(r, status) }, 'Lift'),
              status,
            ),
          )
        }),
        { id: 'active-rules' },
        'no rule in force',
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'History'),
      table(
        ['scope', 'action', 'state', 'ended by', 'created', 'expires', 'reason', ''],
        all.rules.map((r) =>
          h(
            'tr',
            { 'data-rule': r.id },
            h('td', {}, `${r.scope.kind}: ${r.scope.id}`),
            h('td', {}, action(r.action)),
            h('td', { class: `state-${r.state}` }, r.state),
            h('td', {}, r.ended_by ?? ''),
            h('td', {}, when(r.created_at)),
            h('td', {}, when(r.expires_at)),
            h('td', {}, reason(r.reason)),
            h('td', {}, h('button', { type: 'button', onclick: history(r, audit) }, 'Audit')),
          ),
        ),
        { id: 'rule-history' },
        'no rule yet',
      ),
      audit,
    ),
  )
}
