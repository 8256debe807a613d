// Building the page with DOM nodes and textContent only: no value ever goes through innerHTML.

/** `h('td', { class: 'num', 'data-value': 3 }, '$3.00')`; `on*` attributes take functions. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v)
    else el.setAttribute(k, v === true ? '' : String(v))
  }
  append(el, children)
  return el
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren()
  append(el, children)
  return el
}

/** Dollars: 2 decimals, 4 below one dollar (LLM calls are cheap one by one). */
export function usd(v) {
  const n = Number(v)
  const digits = Math.abs(n) < 1 && n !== 0 ? 4 : 2
  return '$' + n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export const int = (v) => Number(v).toLocaleString('en-US')

/** An ISO instant as `YYYY-MM-DD HH:MM` UTC. */
export const when = (iso) => (iso ? String(iso).replace('T', ' ').slice(0, 16) + ' UTC' : '')

/** A money cell that keeps the API's exact value in `data-value` (tests compare it with the API). */
export const money = (v, attrs = {}) => h('td', { class: 'num', 'data-value': v, ...attrs }, usd(v))

/** A table from column heads and rows of cells (strings or nodes). */
export function table(heads, rows, attrs = {}, empty = 'nothing in this period') {
  return h(
    'table',
    attrs,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        heads.map((x) => (x instanceof Node ? x : h('th', {}, x))),
      ),
    ),
    h(
      'tbody',
      {},
      rows.length === 0 ? h('tr', {}, h('td', { colspan: heads.length, class: 'muted' }, empty)) : rows,
    ),
  )
}

/** A head cell aligned right (numbers). */
export const numHead = (t) => h('th', { class: 'num' }, t)

/** Shown where a feature is off (alerting, enforcement) or a call failed. */
export const notice = (text, cls = 'muted') => h('p', { class: cls }, text)

/** Empty customer, agent, endpoint: the API's "" shown as "(none)". */
export const label = (v) => (v === '' || v === undefined ? '(none)' : String(v))
