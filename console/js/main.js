// The console's router: #/spend, #/customer/<name>, #/alerts, #/rules, #/pipeline. A 401 from any call
// shows the login form; the token is kept in sessionStorage and sent as `Authorization: Bearer`.
import { api, setToken, token, Unauthorized } from './api.js'
import { h, mount, notice } from './dom.js'
import { spendPage } from './pages/spend.js'
import { customerPage } from './pages/customer.js'
import { alertsPage } from './pages/alerts.js'
import { rulesPage } from './pages/rules.js'
import { pipelinePage } from './pages/pipeline.js'

const PAGES = {
  spend: spendPage,
  customer: customerPage,
  alerts: alertsPage,
  rules: rulesPage,
  pipeline: pipelinePage,
}

const main = document.getElementById('main')
const signout = document.getElementById('signout')
let generation = 0

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/')
  const name = PAGES[parts[0]] ? parts[0] : 'spend'
  return { name, args: parts.slice(1).map(decodeURIComponent) }
}

/** Renders the page of the current hash; a newer navigation wins over a slower older one. */
async function render() {
  const mine = ++generation
  const { name, args } = parseHash()
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('current', a.dataset.page === name)
  signout.hidden = !token()
  const root = h('div', { 'data-page': name })
  try {
    await PAGES[name](root, args, { rerender: render })
    if (mine === generation) mount(main, root)
  } catch (err) {
    if (mine !== generation) return
    if (err instanceof Unauthorized) mount(main, loginForm())
    else mount(main, notice(`Could not load this page: ${err.message}`, 'error'))
  }
}

function loginForm(message) {
  const input = h('input', {
    type: 'password',
    id: 'token',
    name: 'token',
    autocomplete: 'current-password',
    placeholder: 'GATEWARDEN_AUTH_TOKEN',
    required: true,
  })
  const error = h(
    'p',
    { class: 'error', id: 'login-error' },
    message ?? (token() ? 'That token was refused.' : ''),
  )
  const form = h(
    'form',
    {
      class: 'login',
      id: 'login',
      onsubmit: async (e) => {
        e.preventDefault()
        setToken(input.value.trim())
        try {
          await api('api/cost', { query: { group_by: 'customer', limit: 1 } })
          await render()
        } catch (err) {
          if (err instanceof Unauthorized) mount(main, loginForm('That token was refused.'))
          else throw err
        }
      },
    },
    h('h1', {}, 'Sign in'),
    h(
      'p',
      { class: 'muted' },
      'This Gatewarden has a token (server.auth_token). It is kept in this tab only.',
    ),
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  )
  return form
}

signout.addEventListener('click', () => {
  setToken('')
  void render()
})
window.addEventListener('hashchange', () => void render())
void render()
