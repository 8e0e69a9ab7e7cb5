// Form helpers: client-side rules (Vuetify rule functions) and the server's 422 field errors
// turned into sentences shown under the matching fields.
//
// The phone, card and address checks are the server's, written once here: isE164 is
// src/core/contact.cpp IsE164, luhnValid and expiryProblem are src/orders/payment.cpp LuhnValid and
// ValidateCard, the address rules are src/core/address.cpp ValidateAddress. The examples in
// tests/unit/form_rule_examples.json are checked against both sides (forms.test.js here,
// form_rule_examples_test.cpp there), so the two cannot drift apart unnoticed.
import { errorText } from './api'

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

// Short enough for two lines under a half-width field: a longer message pushed the buttons below
// it down as the field lost focus, so the click that blurred it missed its button.
export const PHONE_HINT = 'Use the international format: + and the country code, e.g. +6591234567.'

/** E.164 as the server checks it: '+', then 8 to 15 digits, the first not 0; nothing else. */
export function isE164(v) {
  return /^\+[1-9]\d{7,14}$/.test(String(v ?? ''))
}

/** "+65 9123-4567" -> "+6591234567" (spaces, dashes, dots and brackets dropped). */
export function normalizePhone(v) {
  return String(v || '').replace(/[\s\-.()]/g, '')
}

/** The Luhn check on 12 to 19 digits (and nothing else), as the server runs it. */
export function luhnValid(digits) {
  const s = String(digits ?? '')
  if (!/^\d{12,19}$/.test(s)) return false
  let sum = 0
  for (let i = 0; i < s.length; i++) {
    let d = Number(s[s.length - 1 - i])
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/** "4242 4242-4242 4242" -> "4242424242424242" (spaces and dashes dropped). */
export function cardDigits(v) {
  return String(v || '').replace(/[\s-]/g, '')
}

/** "08/29", "8 / 2029" -> { month: 8, year: 2029 }; null when it is not MM/YY or MM/YYYY. */
export function parseExpiry(v) {
  const m = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(String(v || ''))
  if (!m) return null
  const month = Number(m[1])
  const year = m[2].length === 2 ? 2000 + Number(m[2]) : Number(m[2])
  return month >= 1 && month <= 12 ? { month, year } : null
}

/**
 * The server's expiry check (in UTC, as the server reads its clock): null when the card may be
 * used, 'card_expired' before this month, 'invalid' for a month outside 1-12 or a year more
 * than 25 years ahead.
 */
export function expiryProblem(month, year, now = new Date()) {
  const thisYear = now.getUTCFullYear()
  const thisMonth = now.getUTCMonth() + 1
  if (!(month >= 1 && month <= 12)) return 'invalid'
  if (year < thisYear || (year === thisYear && month < thisMonth)) return 'card_expired'
  if (year > thisYear + 25) return 'invalid'
  return null
}

/** The server's plain text: 1 to `max` characters, no control characters, not only spaces. */
export function isPlainText(v, max) {
  const s = String(v ?? '')
  // eslint-disable-next-line no-control-regex
  return [...s].length <= max && !/[\u0000-\u001f\u007f]/.test(s) && /[^ ]/.test(s)
}

/** The server's postal code: 1 to 16 ASCII letters, digits, spaces or dashes. */
export function isPostalCode(v) {
  return /^[A-Za-z0-9 -]{1,16}$/.test(String(v ?? ''))
}

/** The parts of an address and the longest text the server takes for each. */
export const ADDRESS_LIMITS = { name: 100, line1: 200, line2: 200, city: 100 }

const filled = (v) => v !== null && v !== undefined && String(v).trim() !== ''

export const rules = {
  required: (label) => (v) => filled(v) || `Enter ${label}.`,
  email: (v) => !v || EMAIL.test(String(v).trim()) || 'Enter an email address like name@example.com.',
  minLength: (n, label) => (v) => !v || String(v).length >= n || `${label} must be at least ${n} characters.`,
  maxLength: (n, label) => (v) => !v || [...String(v)].length <= n || `${label} must be at most ${n} characters.`,
  httpUrl: (v) => !v || isHttpUrl(String(v).trim()) || 'Enter a full address starting with http:// or https://.',
  phone: (v) => !v || isE164(normalizePhone(v)) || PHONE_HINT,
  /** Text the server takes: at most `max` characters, no control characters (empty passes: pair with required). */
  plainText: (max, label) => (v) =>
    !filled(v) || isPlainText(String(v).trim(), max) || `${label} must be at most ${max} characters, on one line.`,
  postalCode: (v) => !filled(v) || isPostalCode(String(v).trim()) || 'Use at most 16 letters, digits, spaces or dashes.',
  card: (v) => {
    const d = cardDigits(v)
    if (!/^\d{12,19}$/.test(d)) return 'Enter the 12 to 19 digits of the card number.'
    return luhnValid(d) || 'This card number is not valid. Check the digits.'
  },
  expiry: (v) => {
    const e = parseExpiry(v)
    if (!e) return 'Enter the expiry date as MM/YY, e.g. 08/29.'
    const problem = expiryProblem(e.month, e.year)
    if (problem === 'card_expired') return 'This card has expired.'
    return !problem || 'Check the expiry year: it is too far ahead.'
  },
  cvc: (v) => /^\d{3,4}$/.test(String(v || '').trim()) || 'Enter the 3 or 4 digits on the back of the card.',
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

/** A server message as a sentence: "is required" under "Name" -> "Name is required." */
export function sentence(label, message) {
  let m = String(message || '').trim()
  if (!m) m = 'is not valid'
  if (/^[a-z]/.test(m) && label) m = `${label} ${m}`
  else m = m.charAt(0).toUpperCase() + m.slice(1)
  return /[.!?]$/.test(m) ? m : `${m}.`
}

// What the page says for the field codes it knows (the server's contract: every entry of
// error.details.fields is {field, code, message, ...named parameters}). A code missing here, or
// one whose sentence needs a parameter the answer lacks, shows the server's own message.
const CODE_SENTENCES = {
  required: (label) => `${label} is required.`,
  too_long: (label, e) => (Number.isInteger(e.max) ? `${label} must be at most ${e.max} characters.` : null),
  too_short: (label, e) => (Number.isInteger(e.min) ? `${label} must be at least ${e.min} characters.` : null),
  invalid_phone: () => PHONE_HINT,
  invalid_card: () => 'This card number is not valid. Check the digits.',
  card_expired: () => 'This card has expired.',
  invalid_country: () => 'Choose a country from the list.',
}

/** The sentence for one entry of details.fields shown under a field labelled `label`. */
export function fieldSentence(entry, label) {
  const known = entry && typeof entry.code === 'string' && CODE_SENTENCES[entry.code]
  return (known && known(label, entry)) || sentence(label, entry && entry.message)
}

/** The entries of an error's details.fields (an empty list for any other answer). */
export function fieldEntries(error) {
  const list = error && error.details && Array.isArray(error.details.fields) ? error.details.fields : []
  return list.filter((f) => f && typeof f.field === 'string')
}

/**
 * Splits an ApiError into messages per form field and one general message.
 * `labels` maps the server's field names ("price_cents", "address.city") to the
 * form's field keys and labels: { price_cents: ['price', 'Price'] } or { name: 'Name' }.
 * Fields the form does not show go into the general message; an error without field
 * entries becomes the general message (rate limits and a busy shop say when to try again).
 * `summary` is the general message, or a request to correct the marked fields.
 */
export function splitErrors(error, labels = {}) {
  const fields = {}
  const other = []
  const list = fieldEntries(error)
  for (const f of list) {
    const raw = f.field
    const normalized = raw.replace(/\[(\w+)\]/g, '.$1')
    const spec = labels[raw] ?? labels[normalized] ?? labels[normalized.replace(/\./g, '_')]
    if (spec === undefined) {
      other.push(fieldSentence(f, humanField(raw)))
      continue
    }
    const [key, label] = Array.isArray(spec) ? spec : [raw, spec]
    if (!fields[key]) fields[key] = fieldSentence(f, label)
  }
  let general = ''
  if (other.length) general = other.join(' ')
  else if (error && !list.length) general = errorText(error)
  const summary = general || (Object.keys(fields).length ? 'Please correct the marked fields.' : '')
  return { fields, general, summary }
}

/** "shipping_address.city" -> "Shipping address city": a label for a field no form shows. */
export function humanField(field) {
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
