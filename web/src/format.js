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

/** 349, "USD" -> "$3.49" (JPY has no minor unit: 349 -> "¥349"). */
export function formatMoney(cents, currency) {
  const f = formatter(currency)
  const digits = f.resolvedOptions().maximumFractionDigits
  return f.format(Number(cents || 0) / 10 ** digits)
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
