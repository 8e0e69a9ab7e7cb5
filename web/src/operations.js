// Names, explanations and number formats for the admin operations page: the shop's own alert
// rules (what each one watches and how its figure reads) and its database backups.

const percent = (value) =>
  new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: value > 0 && value < 0.01 ? 2 : 1 }).format(value)

/** 0.00025 -> "0.25 ms", 0.5 -> "500 ms", 1.024 -> "1,024 ms". */
export function formatMs(seconds) {
  const ms = Number(seconds) * 1000
  return `${new Intl.NumberFormat('en-US', { maximumFractionDigits: ms < 10 ? 2 : 0 }).format(ms)} ms`
}

/** A span of time for people: 42 -> "42 s", 190 -> "3 min", 46800 -> "13 h", 259200 -> "3 d". */
export function formatDuration(seconds) {
  const s = Math.max(0, Number(seconds) || 0)
  const one = (n) => new Intl.NumberFormat('en-US', { maximumFractionDigits: n < 10 ? 1 : 0 }).format(n)
  if (s < 60) return `${Math.round(s)} s`
  if (s < 3600) return `${Math.round(s / 60)} min`
  if (s < 48 * 3600) return `${one(s / 3600)} h`
  return `${one(s / 86400)} d`
}

/** How long a backup took: 0.33 -> "330 ms", 1.4 -> "1.4 s", 95 -> "2 min". */
export function formatTook(seconds) {
  const s = Number(seconds) || 0
  if (s < 1) return `${Math.round(s * 1000)} ms`
  if (s < 60) return `${new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }).format(s)} s`
  return formatDuration(s)
}

/** 316314 -> "309 KB", 1212416 -> "1.2 MB" (1 KB = 1024 bytes). */
export function formatBytes(bytes) {
  let n = Math.max(0, Number(bytes) || 0)
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB']
  let unit = 0
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024
    unit++
  }
  if (unit === 0) return `${n} byte${n === 1 ? '' : 's'}`
  return `${new Intl.NumberFormat('en-US', { maximumFractionDigits: n < 10 ? 1 : 0 }).format(n)} ${units[unit]}`
}

const latency = (area) => ({
  label: `Slow ${area}`,
  text: `How long the slowest 1% of ${area} requests took over the last minute (p99).`,
  format: formatMs,
  noData: 'Too few requests to tell',
})

// kind "above": breached when the figure is above the threshold; "below": when it is under it.
export const ALERT_RULES = {
  high_error_ratio: {
    label: 'Server errors',
    text: 'Share of requests the shop answered with a server error (5xx) over the last minute.',
    format: percent,
    noData: 'Too few requests to tell',
  },
  slow_catalog: latency('catalog'),
  slow_orders: { ...latency('cart and order'), label: 'Slow orders' },
  slow_accounts: { ...latency('sign-in and account'), label: 'Slow accounts' },
  slow_admin: { ...latency('admin and seller'), label: 'Slow admin' },
  slow_web: { ...latency('web page file'), label: 'Slow web page' },
  not_ready: {
    label: 'Shop not ready',
    text: 'Whether the shop can serve: its database answers and it is not shutting down.',
    format: (v) => (v >= 0.5 ? 'Ready' : 'Not ready'),
    threshold: () => 'Alerts when not ready',
    kind: 'below',
  },
  event_backlog: {
    label: 'Event backlog',
    text: 'How long the oldest order or product event has been waiting for a subscriber.',
    format: formatDuration,
    noData: 'Events are not handled by this server',
  },
  message_backlog: {
    label: 'Message backlog',
    text: 'How long the oldest text or webhook call has been waiting to be sent.',
    format: formatDuration,
    noData: 'Messages are not sent by this server',
  },
  backup_stale: {
    label: 'Backup age',
    text: 'Time since the newest good backup of the database.',
    format: formatDuration,
    noData: 'No backup yet',
  },
  db_pool_saturated: {
    label: 'Database connections',
    text: 'Share of the database connection pool busy: connections in use plus requests waiting for one.',
    format: percent,
  },
  disk_low: {
    label: 'Low disk space',
    text: 'Share of the disk holding the shop’s data that is still free.',
    format: (v) => `${percent(v)} free`,
    kind: 'below',
    noData: 'The disk could not be read',
  },
}

/** What the page knows of a rule; rules it does not know are shown by name with plain numbers. */
export function alertRule(name) {
  const known = ALERT_RULES[name]
  const rule = {
    label: String(name || 'Unknown rule'),
    text: '',
    format: (v) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 }).format(v),
    kind: 'above',
    noData: 'No data yet',
    ...known,
  }
  if (!rule.threshold) {
    rule.threshold = (t) => `Alerts ${rule.kind === 'below' ? 'below' : 'above'} ${rule.format(t)}`
  }
  return rule
}

export const ALERT_STATE = {
  ok: { label: 'OK', color: 'success', text: 'within its threshold' },
  pending: { label: 'Pending', color: 'warning', text: 'over its threshold, waiting out the hold time before alerting' },
  firing: { label: 'Firing', color: 'error', text: 'over its threshold: the on-call people are alerted' },
}

export function alertState(state) {
  return ALERT_STATE[state] || { label: String(state || 'Unknown'), color: 'default', text: '' }
}
