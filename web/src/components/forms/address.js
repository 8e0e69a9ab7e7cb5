// The address the AddressFields form edits, and its JSON for the API (shipping_address at
// checkout, address on PATCH /api/me): the one codec both pages use.

export const ADDRESS_KEYS = ['name', 'line1', 'line2', 'city', 'postal_code', 'country']

export function emptyAddress() {
  return { name: '', line1: '', line2: '', city: '', postal_code: '', country: null }
}

/** The form's copy of a stored address (missing parts empty; country null when not chosen). */
export function addressForm(stored) {
  const a = stored || {}
  const out = emptyAddress()
  for (const k of ADDRESS_KEYS) {
    if (typeof a[k] === 'string' && a[k] !== '') out[k] = a[k]
  }
  return out
}

/** True when no part is filled in. */
export function addressBlank(a) {
  return ADDRESS_KEYS.every((k) => !String((a && a[k]) || '').trim())
}

/** The API's address: parts trimmed, line2 only when given, `fallbackName` for an empty name. */
export function addressBody(a, fallbackName = '') {
  const out = {}
  for (const k of ADDRESS_KEYS) {
    const v = String((a && a[k]) || '').trim()
    if (v || k !== 'line2') out[k] = v
  }
  if (!out.name) out.name = String(fallbackName || '').trim()
  return out
}

/** True when two API addresses name the same place (parts compared as stored). */
export function sameAddress(a, b) {
  return ADDRESS_KEYS.every((k) => ((a && a[k]) || '') === ((b && b[k]) || ''))
}

/** The messages of a form's "address.<part>" keys, by part, for AddressFields' errors. */
export function addressMessages(messages) {
  const out = {}
  for (const [key, message] of Object.entries(messages || {})) {
    if (key.startsWith('address.') && message) out[key.slice('address.'.length)] = message
  }
  return out
}
