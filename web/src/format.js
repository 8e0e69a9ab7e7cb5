// Money and product display helpers. Prices are integer minor units plus an ISO 4217 code.

const formatters = new Map()

function formatter(currency) {
  const code = currency || 'USD'
  if (!formatters.has(code)) {
    let f
    try {
      f = new Intl.NumberFormat('en-US', { style: 'currency', currency: code })
    } catch {
      f = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' })
    }
    formatters.set(code, f)
  }
  return formatters.get(code)
}

/**
 * Builds the first currency formatter now, in a task of its own. The browser loads its number
 * formatting data on the first one (tens of milliseconds on a phone); done while the page waits
 * for the shop's first answers, that work stays out of the task that draws the first prices.
 */
export function warmMoneyFormat() {
  setTimeout(() => formatter('USD'), 0)
}

const digitsOf = new WeakMap() // formatter -> its minor digits (resolvedOptions() builds an object per call)

/** 349, "USD" -> "$3.49" (JPY has no minor unit: 349 -> "¥349"). */
export function formatMoney(cents, currency) {
  const f = formatter(currency)
  if (!digitsOf.has(f)) digitsOf.set(f, f.resolvedOptions().maximumFractionDigits)
  return f.format(Number(cents || 0) / 10 ** digitsOf.get(f))
}

/** Suffix for products sold by weight: attributes.unit == "kg" -> " / kg". */
export function unitSuffix(product) {
  const unit = product && product.attributes && product.attributes.unit
  return unit && unit !== 'each' ? ` / ${unit}` : ''
}

export function formatPrice(product) {
  return formatMoney(product.price_cents, product.currency) + unitSuffix(product)
}

export const LOW_STOCK = 5

/** { key, label, color } for a stock level: in stock, only N left, out of stock. */
export function stockState(stock) {
  if (!stock || stock <= 0) return { key: 'out', label: 'Out of stock', color: 'error' }
  if (stock <= LOW_STOCK) return { key: 'low', label: `Only ${stock} left`, color: 'warning' }
  return { key: 'in', label: 'In stock', color: 'success' }
}

/** "release_year" -> "Release year" */
export function humanizeKey(key) {
  const s = String(key).replace(/[_-]+/g, ' ').trim()
  return s.charAt(0).toUpperCase() + s.slice(1)
}

export function attributeValue(value) {
  if (Array.isArray(value)) return value.join(', ')
  if (value && typeof value === 'object') return JSON.stringify(value)
  if (typeof value === 'boolean') return value ? 'Yes' : 'No'
  return String(value)
}

/** "2026-11-24T05:12:00Z" -> "Nov 24, 2026" (or with the time). */
export function formatDate(value, { time = false } = {}) {
  if (!value) return ''
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) return String(value)
  return new Intl.DateTimeFormat('en-US', time ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }).format(d)
}

/** Time from now: "in 59 minutes", "3 hours ago". */
export function formatRelative(value, now = Date.now()) {
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) return ''
  const seconds = Math.round((d.getTime() - now) / 1000)
  const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })
  const abs = Math.abs(seconds)
  if (abs < 60) return rtf.format(seconds, 'second')
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute')
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour')
  return rtf.format(Math.round(seconds / 86400), 'day')
}

/** How many minor units a currency has: USD 2, JPY 0. */
export function minorDigits(currency) {
  return formatter(currency).resolvedOptions().maximumFractionDigits
}

/** The currency's symbol as shown before amounts ("$", "€", "¥"). */
export function currencySymbol(currency) {
  const part = formatter(currency).formatToParts(0).find((p) => p.type === 'currency')
  return part ? part.value : currency || ''
}

/** 1250, "USD" -> "12.50" (for an input field). */
export function minorToInput(cents, currency) {
  const digits = minorDigits(currency)
  const n = Number(cents || 0)
  return digits ? (n / 10 ** digits).toFixed(digits) : String(n)
}

/** "12.5" or "1,299.99", "USD" -> 1250 / 129999 integer minor units; null when not an amount. */
export function inputToMinor(text, currency) {
  const digits = minorDigits(currency)
  const s = String(text ?? '').trim().replace(/,/g, '')
  const re = digits ? new RegExp(`^(\\d{1,9})(?:\\.(\\d{0,${digits}}))?$`) : /^(\d{1,12})$/
  const m = re.exec(s)
  if (!m) return null
  const whole = Number(m[1])
  const frac = digits ? Number((m[2] || '').padEnd(digits, '0') || 0) : 0
  return whole * 10 ** digits + frac
}
