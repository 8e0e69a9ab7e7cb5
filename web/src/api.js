// Small client for the Emporium JSON API (same origin). Every failure throws an
// ApiError carrying the server's error code and message (see shared/API.md), or
// code "network_error" / "bad_response" when no usable answer came back.
//
// The web page signs in with the server's HttpOnly session cookie; writes (any method
// other than GET/HEAD) carry the X-CSRF-Token header with the value of the readable
// emporium_csrf cookie, read at request time. No token is ever kept in localStorage.

export class ApiError extends Error {
  constructor(status, code, message, details = {}, retryAfter = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
    this.retryAfter = retryAfter // seconds, from Retry-After on 429/503
  }

  /** { field: message } from details.fields (the first message per field). */
  get fields() {
    const out = {}
    const list = this.details && Array.isArray(this.details.fields) ? this.details.fields : []
    for (const f of list) {
      if (f && typeof f.field === 'string' && !(f.field in out)) out[f.field] = String(f.message || 'is not valid')
    }
    return out
  }
}

export const CSRF_COOKIE = 'emporium_csrf'

/** The value of a cookie readable by scripts (the CSRF cookie), or ''. */
export function readCookie(name) {
  for (const part of document.cookie ? document.cookie.split(';') : []) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim())
      } catch {
        return part.slice(eq + 1).trim()
      }
    }
  }
  return ''
}

function buildUrl(path, params) {
  const url = new URL(path, window.location.origin)
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value))
  }
  return url.pathname + url.search
}

// Called when a request that needs a session answers 401 (the session ended elsewhere).
let onUnauthorized = null
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn
}

/**
 * One API request. `body` is sent as JSON. `quiet401` leaves a 401 to the caller
 * (sign-in, the "who am I" probe) instead of reporting an ended session.
 */
export async function apiRequest(method, path, { params, body, signal, quiet401 = false, headers: extraHeaders } = {}) {
  const headers = { Accept: 'application/json', ...extraHeaders }
  const init = { method, headers, credentials: 'same-origin', signal }
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = readCookie(CSRF_COOKIE)
    if (csrf) headers['X-CSRF-Token'] = csrf
  }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  let response
  try {
    response = await fetch(buildUrl(path, params), init)
  } catch (e) {
    if (e.name === 'AbortError') throw e
    throw new ApiError(0, 'network_error', 'The shop could not be reached. Check your connection and try again.')
  }
  if (response.status === 204) return null
  let data = null
  try {
    data = await response.json()
  } catch {
    // fall through: an answer that is not JSON
  }
  if (!response.ok) {
    const err = data && data.error
    const retry = Number.parseInt(response.headers.get('Retry-After') || '', 10)
    const error = new ApiError(
      response.status,
      (err && err.code) || `http_${response.status}`,
      (err && err.message) || `The request failed (HTTP ${response.status}).`,
      (err && err.details) || {},
      Number.isFinite(retry) ? retry : null,
    )
    if (response.status === 401 && !quiet401 && onUnauthorized) onUnauthorized(error)
    throw error
  }
  if (data === null) throw new ApiError(response.status, 'bad_response', 'The shop sent an unreadable answer.')
  return data
}

export function apiGet(path, params, { signal } = {}) {
  return apiRequest('GET', path, { params, signal })
}

const id = (value) => encodeURIComponent(value)

export const api = {
  // Catalog (public)
  store: () => apiGet('/api/store'),
  categories: () => apiGet('/api/categories'),
  products: (params, opts) => apiGet('/api/products', params, opts),
  product: (productId, opts) => apiGet(`/api/products/${id(productId)}`, null, opts),

  // Accounts
  signup: (body) => apiRequest('POST', '/api/auth/signup', { body, quiet401: true }),
  login: (body) => apiRequest('POST', '/api/auth/login', { body, quiet401: true }),
  logout: () => apiRequest('POST', '/api/auth/logout', { quiet401: true }),
  me: () => apiRequest('GET', '/api/me', { quiet401: true }),
  updateMe: (body) => apiRequest('PATCH', '/api/me', { body }),

  // Seller area
  sellerProducts: (params, opts) => apiRequest('GET', '/api/seller/products', { params, ...opts }),
  createProduct: (body) => apiRequest('POST', '/api/products', { body }),
  updateProduct: (productId, body) => apiRequest('PATCH', `/api/products/${id(productId)}`, { body }),
  archiveProduct: (productId) => apiRequest('DELETE', `/api/products/${id(productId)}`),

  // Admin area
  adminUsers: (params, opts) => apiRequest('GET', '/api/admin/users', { params, ...opts }),
  setUserRole: (userId, role) => apiRequest('PATCH', `/api/admin/users/${id(userId)}`, { body: { role } }),
  staffTokens: (opts) => apiRequest('GET', '/api/admin/tokens', { ...opts }),
  issueStaffToken: (body) => apiRequest('POST', '/api/admin/tokens', { body }),
  revokeStaffToken: (tokenId) => apiRequest('DELETE', `/api/admin/tokens/${id(tokenId)}`),
  notifications: (params, opts) => apiRequest('GET', '/api/admin/notifications', { params, ...opts }),
  retryNotification: (notificationId) => apiRequest('POST', `/api/admin/notifications/${id(notificationId)}/retry`),
  eventSubscribers: (opts) => apiRequest('GET', '/api/admin/events/subscribers', { ...opts }),
  eventBroker: (opts) => apiRequest('GET', '/api/admin/events/broker', { ...opts }),
  deadLetters: (params, opts) => apiRequest('GET', '/api/admin/events/dead-letters', { params, ...opts }),
  replayDeadLetter: (deadLetterId) => apiRequest('POST', `/api/admin/events/dead-letters/${id(deadLetterId)}/replay`),
  webhooks: (opts) => apiRequest('GET', '/api/admin/webhooks', { ...opts }),
  createWebhook: (body) => apiRequest('POST', '/api/admin/webhooks', { body }),
  deleteWebhook: (webhookId) => apiRequest('DELETE', `/api/admin/webhooks/${id(webhookId)}`),
  alerts: (opts) => apiRequest('GET', '/api/admin/alerts', { ...opts }),
  backups: (opts) => apiRequest('GET', '/api/admin/backups', { ...opts }),
  takeBackup: () => apiRequest('POST', '/api/admin/backups'),

  // Recommendations
  productRecommendations: (productId, limit, opts) => apiGet(`/api/products/${id(productId)}/recommendations`, { limit }, opts),
  myRecommendations: (limit, opts) => apiRequest('GET', '/api/recommendations', { params: { limit }, ...opts }),
  recommendationFeedback: (body) => apiRequest('POST', '/api/recommendations/feedback', { body }),
  adminRecommendations: (opts) => apiRequest('GET', '/api/admin/recommendations', { ...opts }),
  retrainRecommendations: () => apiRequest('POST', '/api/admin/recommendations/train'),
  rollbackRecommendations: () => apiRequest('POST', '/api/admin/recommendations/rollback'),
}

/** A sentence for people from an error: rate limits say when to try again. */
export function errorText(error) {
  if (!error) return ''
  if (error.status === 429) {
    const s = error.retryAfter
    if (s && s > 0) {
      const wait = s >= 120 ? `${Math.ceil(s / 60)} minutes` : `${s} second${s === 1 ? '' : 's'}`
      return `Too many attempts. Please wait ${wait} and try again.`
    }
    return 'Too many attempts. Please wait a moment and try again.'
  }
  return error.message || 'Something went wrong. Please try again.'
}
