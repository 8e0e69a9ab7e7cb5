// Cart, checkout and order calls of the Emporium API (see shared/API.md, "Cart,
// validation, checkout, orders"). Same error handling as api.js: every failure is an ApiError.
import { apiRequest } from './api'

const id = (value) => encodeURIComponent(value)

export const orderApi = {
  // Server cart (signed in)
  cart: (opts) => apiRequest('GET', '/api/cart', { ...opts }),
  addToCart: (productId, quantity) => apiRequest('POST', '/api/cart/items', { body: { product_id: Number(productId), quantity } }),
  setCartQuantity: (productId, quantity) => apiRequest('PATCH', `/api/cart/items/${id(productId)}`, { body: { quantity } }),
  removeFromCart: (productId) => apiRequest('DELETE', `/api/cart/items/${id(productId)}`),

  // Checkout. Both retry a busy shop's 503 (see api.js): the review changes nothing, and the
  // Idempotency-Key makes the server place an order at most once however often it is sent.
  validate: (body, { onRetry } = {}) => apiRequest('POST', '/api/orders/validate', { body, retry: true, onRetry }),
  checkout: (body, idempotencyKey, { onRetry } = {}) =>
    apiRequest('POST', '/api/checkout', { body, headers: { 'Idempotency-Key': idempotencyKey }, retry: true, onRetry }),

  // Orders
  orders: (params, opts) => apiRequest('GET', '/api/orders', { params, ...opts }),
  order: (orderId, opts) => apiRequest('GET', `/api/orders/${id(orderId)}`, { ...opts }),
  cancelOrder: (orderId) => apiRequest('POST', `/api/orders/${id(orderId)}/cancel`),

  // Seller
  sellerOrders: (params, opts) => apiRequest('GET', '/api/seller/orders', { params, ...opts }),
  shipOrder: (orderId) => apiRequest('POST', `/api/seller/orders/${id(orderId)}/ship`),
}

/** A random v4 UUID (crypto.randomUUID needs a secure context; getRandomValues does not). */
export function newUuid() {
  const c = globalThis.crypto
  if (c && typeof c.randomUUID === 'function') {
    try {
      return c.randomUUID()
    } catch {
      // not a secure context: fall through
    }
  }
  const b = new Uint8Array(16)
  c.getRandomValues(b)
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export const ORDER_STATUS = {
  placed: { label: 'Placed', color: 'info' },
  paid: { label: 'Paid', color: 'primary' },
  shipped: { label: 'Shipped', color: 'secondary' },
  delivered: { label: 'Delivered', color: 'success' },
  cancelled: { label: 'Cancelled', color: 'error' },
  refunded: { label: 'Refunded', color: 'warning' },
}

export function statusInfo(status) {
  return ORDER_STATUS[status] || { label: String(status || 'Unknown'), color: 'default' }
}

/** Orders the customer may still cancel (before shipping). */
export const CANCELLABLE = ['placed', 'paid']

export function itemCount(order) {
  return (order?.items || []).reduce((n, i) => n + Number(i.quantity || 0), 0)
}

/** "visa" -> "Visa" */
export function cardBrand(brand) {
  const names = { visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', discover: 'Discover', jcb: 'JCB', unionpay: 'UnionPay', diners: 'Diners Club' }
  const b = String(brand || '').toLowerCase()
  return names[b] || (b ? b.charAt(0).toUpperCase() + b.slice(1) : 'Card')
}
