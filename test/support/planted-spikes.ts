// The spikes planted into the clean stream by the spend anomaly tests and benchmark. Not production code.
import type { Spike } from './spend-spikes.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR

/**
 * Spikes at quiet and busy hours, weekdays and weekends, on busy and small customers and on one model,
 * placed from day 2 on (the detector judges a scope after a day) and within `days` of `start` (a Monday).
 */
export function plantedSpikes(start: number, days: number): Spike[] {
  const at = (day: number, hour: number, minute = 0) => start + day * DAY + hour * HOUR + minute * 60_000
  const all: Spike[] = [
    {
      name: 'tue-quiet',
      scope: { kind: 'customer', id: 'cust-40' },
      start: at(1, 3, 10),
      duration: 40 * 60_000,
      usdPerHour: 6,
      perMinute: 6,
    },
    {
      name: 'wed-peak',
      scope: { kind: 'customer', id: 'cust-0' },
      start: at(2, 15, 5),
      duration: 30 * 60_000,
      usdPerHour: 8,
      perMinute: 10,
    },
    {
      name: 'thu-model',
      scope: { kind: 'model', id: 'claude-3-5-sonnet' },
      start: at(3, 14, 20),
      duration: 30 * 60_000,
      usdPerHour: 60,
      perMinute: 20,
    },
    {
      name: 'sat-night',
      scope: { kind: 'customer', id: 'cust-7' },
      start: at(5, 2, 0),
      duration: 60 * 60_000,
      usdPerHour: 4,
      perMinute: 4,
    },
    {
      name: 'mon-morning',
      scope: { kind: 'customer', id: 'cust-1' },
      start: at(7, 9, 30),
      duration: 30 * 60_000,
      usdPerHour: 5,
      perMinute: 5,
    },
    {
      name: 'wed-small',
      scope: { kind: 'customer', id: 'cust-2000' },
      start: at(9, 11, 0),
      duration: 30 * 60_000,
      usdPerHour: 4,
      perMinute: 3,
    },
    {
      name: 'fri-evening',
      scope: { kind: 'customer', id: 'cust-3' },
      start: at(11, 20, 45),
      duration: 45 * 60_000,
      usdPerHour: 5,
      perMinute: 5,
    },
    {
      name: 'tue-peak-w3',
      scope: { kind: 'customer', id: 'cust-0' },
      start: at(15, 15, 0),
      duration: 30 * 60_000,
      usdPerHour: 8,
      perMinute: 10,
    },
    {
      name: 'sun-model-w3',
      scope: { kind: 'model', id: 'gpt-4o' },
      start: at(20, 4, 0),
      duration: 30 * 60_000,
      usdPerHour: 60,
      perMinute: 20,
    },
    {
      name: 'thu-quiet-w4',
      scope: { kind: 'customer', id: 'cust-12' },
      start: at(24, 1, 30),
      duration: 30 * 60_000,
      usdPerHour: 4,
      perMinute: 4,
    },
  ]
  return all.filter((s) => s.start + s.duration <= start + days * DAY)
}
