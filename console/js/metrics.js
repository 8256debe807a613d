// A reader of the Prometheus text format (enough for Gatewarden's own /metrics).

/** Every sample: `{ name, labels, value }`. */
export function parseMetrics(text) {
  const out = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (!m) continue
    const labels = {}
    if (m[2]) {
      for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    }
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

/** The samples of one metric, optionally those whose labels include `match`. */
export function samples(all, name, match = {}) {
  return all.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
}
