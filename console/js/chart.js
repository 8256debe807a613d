// Charts with uPlot (vendored from npm, served by Gatewarden at console/vendor/uplot.js).
import uPlot from '../vendor/uplot.js'
import { usd } from './dom.js'

const COLORS = ['#2f5bd3', '#e07b39', '#3a9d5d', '#c2417a', '#7a5af8', '#0e9384', '#b54708', '#667085']

/** Seconds of an API bucket: `day` = 'YYYY-MM-DD', `hour` = 'YYYY-MM-DDTHH:00:00Z'. */
export const bucketSeconds = (v) => Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v) / 1000

/**
 * Stacked bars: one series per group, drawn as running totals (each bar sits on the ones below it). The
 * legend and the tooltip show each series' own value as the API answered it, never the running total.
 * `series`: `[{ label, values }]` with `values[i]` the API's cost at `xs[i]` (null when it has no row).
 */
export function stackedBars(el, xs, series, { format = usd } = {}) {
  const stacked = []
  let acc = xs.map(() => 0)
  for (const s of series) {
    acc = acc.map((a, i) => a + (s.values[i] ?? 0))
    stacked.push(acc)
  }
  // drawn topmost first, so each lower bar paints over the one above it
  const order = series.map((_, i) => i).reverse()
  const bars = uPlot.paths.bars({ size: [0.7, 64] })
  const opts = {
    width: Math.max(el.clientWidth, 480),
    height: 300,
    scales: { x: { time: true } },
    axes: [{}, { values: (_u, ticks) => ticks.map((t) => `$${t.toFixed(2)}`), size: 70 }],
    series: [
      {},
      ...order.map((i) => ({
        label: series[i].label,
        stroke: COLORS[i % COLORS.length],
        fill: COLORS[i % COLORS.length],
        paths: bars,
        points: { show: false },
        value: (_u, _v, _si, di) =>
          di === null || di === undefined ? '' : format(series[i].values[di] ?? 0),
      })),
    ],
    legend: { live: true },
  }
  el.replaceChildren()
  return new uPlot(opts, [xs, ...order.map((i) => stacked[i])], el)
}

/** One line (e.g. requests per hour). */
export function lineChart(el, xs, label, values, { format = String } = {}) {
  const opts = {
    width: Math.max(el.clientWidth, 480),
    height: 220,
    scales: { x: { time: true } },
    series: [
      {},
      {
        label,
        stroke: COLORS[0],
        fill: 'rgba(47,91,211,0.12)',
        value: (_u, v) => (v === null ? '' : format(v)),
      },
    ],
  }
  el.replaceChildren()
  return new uPlot(opts, [xs, values], el)
}
