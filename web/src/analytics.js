// Seller analytics: the report routes and the date arithmetic of the Sales page. Dates are the
// seller's local calendar days ("YYYY-MM-DD"), as the server counts them; the page never turns
// them into instants, so a browser in another time zone shows the same days as the API.
import { apiRequest } from './api'

const BASE = '/api/seller/analytics'

export const analyticsApi = {
  settings: (params, opts) => apiRequest('GET', `${BASE}/settings`, { params, ...opts }),
  setTimeZone: (time_zone, params) => apiRequest('PATCH', `${BASE}/settings`, { params, body: { time_zone } }),
  summary: (params, opts) => apiRequest('GET', `${BASE}/summary`, { params, ...opts }),
  sales: (params, opts) => apiRequest('GET', `${BASE}/sales`, { params, ...opts }),
  topProducts: (params, opts) => apiRequest('GET', `${BASE}/top-products`, { params, ...opts }),
  categories: (params, opts) => apiRequest('GET', `${BASE}/categories`, { params, ...opts }),
  refunds: (params, opts) => apiRequest('GET', `${BASE}/refunds`, { params, ...opts }),
  sellThrough: (params, opts) => apiRequest('GET', `${BASE}/sell-through`, { params, ...opts }),
  funnel: (params, opts) => apiRequest('GET', `${BASE}/funnel`, { params, ...opts }),
  /** The CSV export's address (a download link: the browser's session cookie goes with it). */
  exportUrl: (params) => {
    const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ''))
    return `${BASE}/export.csv?${q}`
  },
  /** A product page was seen (counts only). Never throws: a lost count is not worth a message. */
  countView: (productId) =>
    apiRequest('POST', '/api/analytics/product-views', { body: { product_id: Number(productId) }, retry: false }).catch(() => null),
}

/** Days since 1970-01-01 of "YYYY-MM-DD", and back (calendar arithmetic in UTC, no time zone). */
export function dayNumber(text) {
  const [y, m, d] = text.split('-').map(Number)
  return Math.round(Date.UTC(y, m - 1, d) / 86400000)
}
export function dayText(n) {
  return new Date(n * 86400000).toISOString().slice(0, 10)
}

export const PRESETS = [
  { value: 'today', title: 'Today' },
  { value: '7d', title: 'Last 7 days' },
  { value: '30d', title: 'Last 30 days' },
  { value: 'month', title: 'This month' },
  { value: 'year', title: 'This year' },
  { value: 'custom', title: 'Custom' },
]

/** {from, to} of a preset, given today in the seller's time zone ("YYYY-MM-DD"). */
export function presetRange(preset, today) {
  const t = dayNumber(today)
  switch (preset) {
    case 'today':
      return { from: today, to: today }
    case '7d':
      return { from: dayText(t - 6), to: today }
    case 'month':
      return { from: `${today.slice(0, 8)}01`, to: today }
    case 'year':
      return { from: `${today.slice(0, 4)}-01-01`, to: today }
    default:
      return { from: dayText(t - 29), to: today }
  }
}

/** The periods a range reads best in: hours for a day, days up to three months, then weeks, months. */
export function granularityFor(from, to) {
  const days = dayNumber(to) - dayNumber(from) + 1
  if (days <= 2) return 'hour'
  if (days <= 92) return 'day'
  if (days <= 400) return 'week'
  return 'month'
}

/** "+12.5%", "−3.0%", or "—" when there was nothing to compare with. */
export function changeText(percent) {
  if (percent === null || percent === undefined) return '—'
  const sign = percent > 0 ? '+' : percent < 0 ? '−' : ''
  return `${sign}${Math.abs(percent).toFixed(1)}%`
}

/** "2026-03-08T03:00:00-04:00" -> "Mar 8, 03:00"; "2026-03-08" -> "Mar 8"; months and weeks as given. */
export function periodLabel(period, granularity) {
  if (granularity === 'hour') {
    const [date, time] = period.split('T')
    return `${shortDate(date)}, ${time.slice(0, 5)}`
  }
  if (granularity === 'day' || granularity === 'week') return shortDate(period)
  return period
}

function shortDate(date) {
  const [y, m, d] = date.split('-').map(Number)
  return new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(
    new Date(Date.UTC(y, m - 1, d)),
  )
}

/** 0.6667 -> "66.7%". */
export function rateText(rate) {
  return `${(Number(rate || 0) * 100).toFixed(1)}%`
}
