// The admin Delivery page's data: its API calls, the periods it offers, and how its figures read
// (durations, rates, the change against the previous period). The figures themselves are
// computed by the shop (src/delivery/); this file only formats them.
import { apiRequest } from './api'
import { formatDuration } from './operations'

export const PERIODS = [
  { days: 7, label: '7 days' },
  { days: 30, label: '30 days' },
  { days: 90, label: '90 days' },
]

export const EXPORTS = [
  { kind: 'deployments', label: 'Deployments' },
  { kind: 'incidents', label: 'Incidents' },
  { kind: 'stages', label: 'Stage runs' },
  { kind: 'flaky', label: 'Flaky tests' },
]

const isoDate = (d) => d.toISOString().slice(0, 10)

/** The `days` days that end today (UTC), as the API's from/to dates. */
export function periodDates(days, today = new Date()) {
  const to = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()))
  const from = new Date(to.getTime() - (days - 1) * 86400000)
  return { from: isoDate(from), to: isoDate(to) }
}

export const deliveryApi = {
  summary: (params, opts) => apiRequest('GET', '/api/admin/delivery/summary', { params, ...opts }),
  deployments: (params, opts) => apiRequest('GET', '/api/admin/delivery/deployments', { params, ...opts }),
  incidents: (params, opts) => apiRequest('GET', '/api/admin/delivery/incidents', { params, ...opts }),
  /** body: {deployment_id: id|null} links by hand, {link: 'auto'} goes back to the automatic link. */
  linkIncident: (incidentId, body) =>
    apiRequest('PATCH', `/api/admin/delivery/incidents/${encodeURIComponent(incidentId)}`, { body }),
}

/** Where the CSV of `kind` for the period downloads from (same origin, the session cookie signs it). */
export function exportUrl(kind, { from, to }) {
  return `/api/admin/delivery/export.csv?${new URLSearchParams({ kind, from, to })}`
}

const number = (n, digits = 1) => new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(n)

/** 0.75 -> "75%"; null -> "—". */
export function formatRate(rate) {
  if (rate === null || rate === undefined) return '—'
  return new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 }).format(rate)
}

/** Seconds as people say them ("45 min", "2.5 h"); null -> "—". */
export function formatSpan(seconds) {
  if (seconds === null || seconds === undefined) return '—'
  return formatDuration(seconds)
}

/** A stage's duration in milliseconds: 950 -> "0.95 s", 42000 -> "42 s", 361000 -> "6 min 1 s". */
export function formatStageTime(ms) {
  if (ms === null || ms === undefined) return '—'
  const s = ms / 1000
  if (s < 10) return `${number(s, 2)} s`
  if (s < 120) return `${Math.round(s)} s`
  const whole = Math.round(s)
  const m = Math.floor(whole / 60)
  return `${m} min ${whole - m * 60} s`
}

/** How a p50 moved against the previous period: {text, direction: 'up'|'down'|'flat'|'none'}. */
export function stageTrend(p50, previous) {
  if (!p50 || !previous) return { text: 'no earlier runs', direction: 'none', change: null }
  const change = (p50 - previous) / previous
  const text = `${change > 0 ? '+' : ''}${formatRate(change)} vs the previous period`
  if (Math.abs(change) < 0.05) return { text, direction: 'flat', change }
  return { text, direction: change > 0 ? 'up' : 'down', change }
}

const plural = (n, one, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`

/** The six figure cards: each with its value and the counts behind it. */
export function figureCards(summary) {
  const f = summary.deployment_frequency
  const l = summary.lead_time
  const c = summary.change_failure_rate
  const r = summary.time_to_restore
  const s = summary.success_rate
  const k = summary.flaky_tests
  return [
    {
      key: 'frequency',
      title: 'Deployment frequency',
      value: f.deployments ? `${number(f.per_week)} a week` : 'None',
      counts: `${plural(f.deployments, 'deployment')} in ${plural(f.days, 'day')}`,
    },
    {
      key: 'lead-time',
      title: 'Lead time for changes',
      value: formatSpan(l.p50_seconds),
      counts: l.commits
        ? `median of ${plural(l.commits, 'commit')} in ${plural(l.deployments, 'deployment')} · p95 ${formatSpan(l.p95_seconds)}`
        : 'no commit was deployed',
    },
    {
      key: 'change-failure',
      title: 'Change failure rate',
      value: formatRate(c.rate),
      counts: `${c.failed} of ${plural(c.deployments, 'deployment')} failed or caused an incident (${c.failed_by_result} failed, ${c.with_incidents} with incidents)`,
    },
    {
      key: 'restore',
      title: 'Time to restore',
      value: formatSpan(r.p50_seconds),
      counts: `median of ${plural(r.resolved, 'resolved incident')} · ${r.open} still open`,
    },
    {
      key: 'success',
      title: 'Pipeline success rate',
      value: formatRate(s.rate),
      counts: `${s.succeeded} of ${plural(s.finished, 'finished run')} succeeded (${s.failed} failed, ${s.cancelled} cancelled)`,
    },
    {
      key: 'flaky',
      title: 'Flaky tests',
      value: String(k.total),
      counts: `of ${plural(k.tests_seen, 'test')} run in the 14 days to ${k.window_to}`,
    },
  ]
}
