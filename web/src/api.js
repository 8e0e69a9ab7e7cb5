// Small client for the Emporium JSON API (same origin). Every failure throws an
// ApiError carrying the server's error code and message (see shared/API.md), or
// code "network_error" / "bad_response" when no usable answer came back.
//
// The web page signs in with the server's HttpOnly session cookie; writes (any method
// other than GET/HEAD) carry the X-CSRF-Token header with the value of the readable
// emporium_csrf cookie, read at request time. No token is ever kept in localStorage.
//
// A busy shop answers 503 with Retry-After. The client then sends the same request again by
// itself, after Retry-After plus up to half of it again at random (so a crowd of pages does not
// come back in step), at most RETRY_TRIES times in all. Only requests that are safe to send twice
// retry:
//  - every GET and HEAD: reading changes nothing;
//  - requests made with `retry: true`, each safe to repeat: sign-up and sign-in (a 503 from
//    shedding is answered before the server does anything with them), the checkout review
//    (POST /api/orders/validate changes nothing) and checkout (its Idempotency-Key makes the
//    server place the order at most once), and photo uploads (shed before anything is stored).
// Every other write (cart changes, cancel, ship, profile and admin changes) reports the 503 at
// once: the person decides whether to press again. A 503 without Retry-After, or asking for more
// than RETRY_MAX_WAIT seconds (a standby shop's read-only answer), is not retried either.
// While a retry waits, the request's `onRetry` (or, when it has none, the page-wide listener
// of setRetryListener) is told when the next try goes out, so the page can say so.

export const RETRY_TRIES = 4
export const RETRY_MAX_WAIT = 10

export class ApiError extends Error {
  constructor(status, code, message, details = {}, retryAfter = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
    this.retryAfter = retryAfter // seconds, from Retry-After on 429/503
    this.tries = 1 // how many times the request was sent (more than 1 after 503 retries)
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

// Told about retries of requests that have no onRetry of their own (the page-wide busy notice).
let retryListener = null
export function setRetryListener(fn) {
  retryListener = fn
}

/** Seconds from a Retry-After header (delta-seconds only), or null. */
function retryAfterOf(response) {
  const value = (response.headers.get('Retry-After') || '').trim()
  return /^\d+$/.test(value) ? Number(value) : null
}

/** Waits `ms`, or rejects with an AbortError as soon as `signal` aborts. */
function wait(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(new DOMException('Aborted', 'AbortError'))
    const timer = setTimeout(() => {
      if (signal) signal.removeEventListener('abort', stop)
      resolve()
    }, ms)
    function stop() {
      clearTimeout(timer)
      reject(new DOMException('Aborted', 'AbortError'))
    }
    if (signal) signal.addEventListener('abort', stop, { once: true })
  })
}

let retryIds = 0

/**
 * fetch(), sent again after a 503 with Retry-After when `retry` allows it (see the top of this
 * file). `notify({ id, attempt, tries, until })` is called when a wait starts (`until`: when the
 * next try goes out, in Date.now() milliseconds) and `notify({ id, done: true })` when it ends.
 * Resolves to { response, tries }.
 */
async function fetchRetrying(url, init, retry, notify) {
  const id = ++retryIds
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(url, init)
    const after = response.status === 503 && retry ? retryAfterOf(response) : null
    if (after === null || after > RETRY_MAX_WAIT || attempt >= RETRY_TRIES) return { response, tries: attempt }
    const base = Math.max(1, after) * 1000
    const delay = Math.round(base + Math.random() * base * 0.5)
    if (notify) notify({ id, attempt, tries: RETRY_TRIES, until: Date.now() + delay })
    try {
      await wait(delay, init.signal)
    } finally {
      if (notify) notify({ id, done: true })
    }
  }
}

/**
 * One API request. `body` is sent as JSON, `file` (a File or Blob) as the raw body. `quiet401` leaves a 401 to the caller
 * (sign-in, the "who am I" probe) instead of reporting an ended session. `retry` (GET and HEAD
 * by default) sends it again after a 503 with Retry-After; `onRetry` hears about each wait.
 */
export async function apiRequest(
  method,
  path,
  { params, body, file, signal, quiet401 = false, headers: extraHeaders, retry = method === 'GET' || method === 'HEAD', onRetry } = {},
) {
  const headers = { Accept: 'application/json', ...extraHeaders }
  const init = { method, headers, credentials: 'same-origin', signal }
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = readCookie(CSRF_COOKIE)
    if (csrf) headers['X-CSRF-Token'] = csrf
  }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  } else if (file !== undefined) {
    // A picture goes as it is, the raw body; the server reads its type from its bytes.
    headers['Content-Type'] = file.type || 'application/octet-stream'
    init.body = file
  }
  let response, tries
  try {
    ;({ response, tries } = await fetchRetrying(buildUrl(path, params), init, retry, onRetry || retryListener))
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
    const error = new ApiError(
      response.status,
      (err && err.code) || `http_${response.status}`,
      (err && err.message) || `The request failed (HTTP ${response.status}).`,
      (err && err.details) || {},
      retryAfterOf(response),
    )
    error.tries = tries
    if (response.status === 401 && !quiet401 && onUnauthorized) onUnauthorized(error)
    throw error
  }
  if (data === null) throw new ApiError(response.status, 'bad_response', 'The shop sent an unreadable answer.')
  return data
}

// Reads sent before the page that needs them is drawn (see prefetch): URL -> the answer's promise.
const early = new Map()

/**
 * Sends the GET `path` with `params` now, so its answer is on its way while the page's scripts,
 * branding and session still load; the page's first apiGet of the same URL takes that answer
 * instead of asking again (once: a later apiGet of the URL asks the shop). `dropPrefetched` forgets
 * answers nobody took. Failures reach whoever takes the answer, as if it had asked itself; the
 * taker's abort signal does not cancel the request (its latest-wins logic drops a stale answer).
 */
export function prefetch(path, params) {
  const url = buildUrl(path, params)
  if (early.has(url)) return
  const answer = apiRequest('GET', path, { params })
  answer.catch(() => {}) // reported to the page that takes it, not as an unhandled rejection
  early.set(url, answer)
}

/** Forgets prefetched answers no page took (called when the shopper leaves the first page). */
export function dropPrefetched() {
  early.clear()
}

/**
 * A prefetched answer reaches its page in a task of its own, as a fetched one does: a page that
 * takes it while it is being drawn (the first page, mounted once the branding is in) finishes that
 * first and draws the answer after, rather than both in one long task.
 */
function handOver(answer) {
  const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0))
  return answer.then(
    async (value) => {
      await nextTask()
      return value
    },
    async (error) => {
      await nextTask()
      throw error
    },
  )
}

export function apiGet(path, params, { signal } = {}) {
  const url = buildUrl(path, params)
  const answer = early.get(url)
  if (answer) {
    early.delete(url)
    return handOver(answer)
  }
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
  // Sign-up and sign-in retry a busy shop's 503 (see the top of this file).
  signup: (body, { onRetry } = {}) => apiRequest('POST', '/api/auth/signup', { body, quiet401: true, retry: true, onRetry }),
  login: (body, { onRetry } = {}) => apiRequest('POST', '/api/auth/login', { body, quiet401: true, retry: true, onRetry }),
  logout: () => apiRequest('POST', '/api/auth/logout', { quiet401: true }),
  me: () => apiRequest('GET', '/api/me', { quiet401: true }),
  updateMe: (body) => apiRequest('PATCH', '/api/me', { body }),

  // Seller area
  sellerProducts: (params, opts) => apiRequest('GET', '/api/seller/products', { params, ...opts }),
  createProduct: (body) => apiRequest('POST', '/api/products', { body }),
  updateProduct: (productId, body) => apiRequest('PATCH', `/api/products/${id(productId)}`, { body }),
  archiveProduct: (productId) => apiRequest('DELETE', `/api/products/${id(productId)}`),
  // Product photos. An upload shed with 503 (the shop's picture threads are busy) was refused
  // before anything was stored, so it is safe to send again.
  addProductImage: (productId, file, alt) =>
    apiRequest('POST', `/api/products/${id(productId)}/images`, { file, params: alt ? { alt } : undefined, retry: true }),
  changeProductImage: (productId, imageId, body) =>
    apiRequest('PATCH', `/api/products/${id(productId)}/images/${id(imageId)}`, { body }),
  deleteProductImage: (productId, imageId) => apiRequest('DELETE', `/api/products/${id(productId)}/images/${id(imageId)}`),

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
  slowRequests: (opts) => apiRequest('GET', '/api/admin/slow-requests', { ...opts }),

  // Recommendations
  productRecommendations: (productId, limit, opts) => apiGet(`/api/products/${id(productId)}/recommendations`, { limit }, opts),
  myRecommendations: (limit, opts) => apiRequest('GET', '/api/recommendations', { params: { limit }, ...opts }),
  recommendationFeedback: (body) => apiRequest('POST', '/api/recommendations/feedback', { body }),
  adminRecommendations: (opts) => apiRequest('GET', '/api/admin/recommendations', { ...opts }),
  retrainRecommendations: () => apiRequest('POST', '/api/admin/recommendations/train'),
  rollbackRecommendations: () => apiRequest('POST', '/api/admin/recommendations/rollback'),
}

/** A sentence for people from an error: rate limits and a busy shop say when to try again. */
export function errorText(error) {
  if (!error) return ''
  if (error.status === 503 && error.tries > 1) {
    return `The shop is still busy after ${error.tries} tries. Please wait a minute and try again.`
  }
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
