// Form helpers: client-side rules (Vuetify rule functions) and the server's 422 field
// errors turned into sentences shown under the matching fields.

export const E164 = /^\+[1-9]\d{6,14}$/
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

export const rules = {
  required: (label) => (v) => (v !== null && v !== undefined && String(v).trim() !== '') || `Enter ${label}.`,
  email: (v) => !v || EMAIL.test(String(v).trim()) || 'Enter an email address like name@example.com.',
  minLength: (n, label) => (v) => !v || String(v).length >= n || `${label} must be at least ${n} characters.`,
  maxLength: (n, label) => (v) => !v || String(v).length <= n || `${label} must be at most ${n} characters.`,
  httpUrl: (v) => !v || isHttpUrl(String(v).trim()) || 'Enter a full address starting with http:// or https://.',
  phone: (v) =>
    !v || E164.test(normalizePhone(v)) || 'Enter the number in international format, starting with + and the country code (e.g. +6591234567).',
}

/** True for an absolute http:// or https:// address with a host. */
export function isHttpUrl(v) {
  try {
    const url = new URL(v)
    return (url.protocol === 'http:' || url.protocol === 'https:') && Boolean(url.hostname)
  } catch {
    return false
  }
}

/** "+65 9123-4567" -> "+6591234567" (spaces, dashes, dots and brackets dropped). */
export function normalizePhone(v) {
  return String(v || '').replace(/[\s\-.()]/g, '')
}

/** A server message as a sentence: "is required" under "Name" -> "Name is required." */
export function sentence(label, message) {
  let m = String(message || '').trim()
  if (!m) m = 'is not valid'
  if (/^[a-z]/.test(m) && label) m = `${label} ${m}`
  else m = m.charAt(0).toUpperCase() + m.slice(1)
  return /[.!?]$/.test(m) ? m : `${m}.`
}

/**
 * Splits an ApiError into messages per form field and one general message.
 * `labels` maps the server's field names ("price_cents", "address.city") to the
 * form's field keys and labels: { price_cents: ['price', 'Price'] } or { name: 'Name' }.
 * Fields the form does not show go into the general message.
 */
export function splitErrors(error, labels = {}) {
  const fields = {}
  const other = []
  const list = error && error.details && Array.isArray(error.details.fields) ? error.details.fields : []
  for (const f of list) {
    if (!f || typeof f.field !== 'string') continue
    const raw = f.field
    const normalized = raw.replace(/\[(\w+)\]/g, '.$1')
    const spec = labels[raw] ?? labels[normalized] ?? labels[normalized.replace(/\./g, '_')]
    if (spec === undefined) {
      other.push(sentence(humanField(raw), f.message))
      continue
    }
    const [key, label] = Array.isArray(spec) ? spec : [raw, spec]
    if (!fields[key]) fields[key] = sentence(label, f.message)
  }
  let general = ''
  if (other.length) general = other.join(' ')
  else if (error && !list.length) general = error.message || 'Something went wrong. Please try again.'
  return { fields, general }
}

function humanField(field) {
  const s = String(field).replace(/[._\-[\]]+/g, ' ').trim()
  return s.charAt(0).toUpperCase() + s.slice(1)
}

/** Moves keyboard focus to the first field Vuetify marks as invalid. */
export function focusFirstError(root) {
  requestAnimationFrame(() => {
    const el = (root || document).querySelector('.v-input--error input, .v-input--error textarea, .v-input--error [role="combobox"]')
    if (el && typeof el.focus === 'function') el.focus()
  })
}
