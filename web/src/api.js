// Small client for the Emporium JSON API (same origin). Every failure throws an
// ApiError carrying the server's error code and message (see shared/API.md), or
// code "network_error" / "bad_response" when no usable answer came back.

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
  }
}

function buildUrl(path, params) {
  const url = new URL(path, window.location.origin)
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value))
  }
  return url.pathname + url.search
}

export async function apiGet(path, params, { signal } = {}) {
  let response
  try {
    response = await fetch(buildUrl(path, params), {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
      signal,
    })
  } catch (e) {
    if (e.name === 'AbortError') throw e
    throw new ApiError(0, 'network_error', 'The shop could not be reached. Check your connection and try again.')
  }
  let body = null
  try {
    body = await response.json()
  } catch {
    // fall through: an answer that is not JSON
  }
  if (!response.ok) {
    const err = body && body.error
    throw new ApiError(
      response.status,
      (err && err.code) || `http_${response.status}`,
      (err && err.message) || `The request failed (HTTP ${response.status}).`,
      (err && err.details) || {},
    )
  }
  if (body === null) throw new ApiError(response.status, 'bad_response', 'The shop sent an unreadable answer.')
  return body
}

export const api = {
  store: () => apiGet('/api/store'),
  categories: () => apiGet('/api/categories'),
  products: (params, opts) => apiGet('/api/products', params, opts),
  product: (id, opts) => apiGet(`/api/products/${encodeURIComponent(id)}`, null, opts),
}
