// The shopping cart: a guest cart in localStorage while signed out, the server cart
// (GET /api/cart) while signed in. When someone signs in (or up), the guest cart's lines
// are added to their server cart one by one and the local copy is cleared.
//
// `ensure()` brings the cart in line with whoever is signed in now; pages await it
// before they read the cart, and App.vue calls it whenever the signed-in user changes.
//
// A cart holds one currency, as the server's does: the guest cart refuses a product priced in
// another currency with the same 409 `currency_mismatch` the server answers.
import { defineStore } from 'pinia'
import { ApiError } from '../api'
import { orderApi } from '../orderApi'
import { useAuthStore } from './auth'
import { useShopStore } from './shop'

export const GUEST_CART_KEY = 'emporium_guest_cart'
export const MAX_QUANTITY = 100

function readGuest() {
  try {
    const raw = JSON.parse(localStorage.getItem(GUEST_CART_KEY) || 'null')
    const list = raw && Array.isArray(raw.items) ? raw.items : []
    return list
      .filter((l) => l && Number.isInteger(Number(l.product_id)) && Number(l.quantity) > 0)
      .map((l) => ({
        product_id: Number(l.product_id),
        quantity: Math.min(MAX_QUANTITY, Math.floor(Number(l.quantity))),
        name: String(l.name || `Product ${l.product_id}`),
        price_cents: Number(l.price_cents) || 0,
        currency: typeof l.currency === 'string' ? l.currency : '',
        image_url: typeof l.image_url === 'string' ? l.image_url : '',
      }))
  } catch {
    return []
  }
}

function writeGuest(items) {
  try {
    if (items.length) localStorage.setItem(GUEST_CART_KEY, JSON.stringify({ items }))
    else localStorage.removeItem(GUEST_CART_KEY)
  } catch {
    // storage full or disabled: the cart lives for this page only
  }
}

/** What the page says when a product's currency is not the cart's. */
export function currencyMismatchText(cartCurrency, productCurrency) {
  const priced = productCurrency ? ` (this one is priced in ${productCurrency})` : ''
  return `Your cart holds items priced in ${cartCurrency || 'another currency'}${priced}. Check out or empty your cart first, then add it.`
}

let pending = null
let pendingFor // the owner the pending sync is for

export const useCartStore = defineStore('cart', {
  state: () => ({
    items: [],
    currency: '',
    owner: undefined, // user id whose server cart is shown, null for the guest cart, undefined before the first load
    loading: false,
    error: null,
    mergeProblems: 0,
  }),
  getters: {
    count: (state) => state.items.reduce((n, l) => n + Number(l.quantity || 0), 0),
    totalCents: (state) => state.items.reduce((n, l) => n + Number(l.price_cents || 0) * Number(l.quantity || 0), 0),
    isGuest: (state) => state.owner === null,
    quantityOf: (state) => (productId) => state.items.find((l) => l.product_id === Number(productId))?.quantity || 0,
  },
  actions: {
    shopCurrency() {
      return this.currency || useShopStore().currency || 'USD'
    },
    applyServer(cart) {
      this.items = Array.isArray(cart?.items) ? cart.items.map((l) => ({ ...l, product_id: Number(l.product_id) })) : []
      if (cart?.currency) this.currency = cart.currency
    },
    /** Makes the cart the signed-in user's (merging the guest cart in) or the guest's. */
    ensure({ force = false } = {}) {
      const auth = useAuthStore()
      const target = auth.user ? auth.user.id : null
      if (pending && pendingFor === target) return pending
      if (!force && this.owner === target) return Promise.resolve()
      pendingFor = target
      const job = (target === null ? this.loadGuest() : this.loadServer(target)).finally(() => {
        if (pending === job) pending = null
      })
      pending = job
      return job
    },
    async loadGuest() {
      this.owner = null
      this.error = null
      this.applyGuest(readGuest())
    },
    /** Shows the guest cart: its currency is its lines' (one for all), else the shop's. */
    applyGuest(items) {
      this.items = items
      this.currency = items.find((l) => l.currency)?.currency || useShopStore().currency || 'USD'
    },
    async loadServer(userId) {
      this.loading = true
      this.error = null
      try {
        const guest = readGuest()
        if (guest.length) {
          // Merge: add each guest line to the server cart. A line the server refuses
          // (product gone, too many) is dropped; one that could not be sent stays local.
          const kept = []
          let refused = 0
          for (const line of guest) {
            try {
              this.applyServer(await orderApi.addToCart(line.product_id, line.quantity))
            } catch (e) {
              if (e.status === 401) throw e
              if (e.status === 0 || e.status >= 500) kept.push(line)
              else refused++
            }
          }
          writeGuest(kept)
          this.mergeProblems = refused + kept.length
        }
        const cart = await orderApi.cart()
        if ((useAuthStore().user?.id ?? null) !== userId) return // signed out meanwhile
        this.applyServer(cart)
        this.owner = userId
      } catch (e) {
        this.error = e
        if (e.status === 401) {
          this.owner = null
          this.items = readGuest()
        }
      } finally {
        this.loading = false
      }
    },
    /** Reloads the server cart (checkout asks for the current prices), or rereads the guest cart. */
    async refresh() {
      await this.ensure()
      if (this.owner === null) return this.loadGuest()
      const cart = await orderApi.cart()
      this.applyServer(cart)
    },
    /** Adds `quantity` of a product ({id, name, price_cents, image_url}); throws ApiError when the server refuses. */
    async add(product, quantity = 1) {
      await this.ensure()
      const productId = Number(product.id ?? product.product_id)
      if (this.owner !== null) {
        this.applyServer(await orderApi.addToCart(productId, quantity))
        return
      }
      const items = readGuest()
      const held = items.find((l) => l.currency)?.currency
      if (held && product.currency && product.currency !== held) {
        throw new ApiError(409, 'currency_mismatch', currencyMismatchText(held, product.currency))
      }
      const line = items.find((l) => l.product_id === productId)
      if (line) {
        line.quantity = Math.min(MAX_QUANTITY, line.quantity + quantity)
        line.name = product.name || line.name
        line.price_cents = product.price_cents ?? line.price_cents
        line.image_url = product.image_url || line.image_url
      } else {
        items.push({
          product_id: productId,
          quantity: Math.min(MAX_QUANTITY, quantity),
          name: product.name || `Product ${productId}`,
          price_cents: Number(product.price_cents) || 0,
          currency: typeof product.currency === 'string' ? product.currency : '',
          image_url: product.image_url || '',
        })
      }
      writeGuest(items)
      this.applyGuest(items)
    },
    /** Sets a line's quantity (0 removes it). On the server this also takes the current price. */
    async setQuantity(productId, quantity) {
      await this.ensure()
      const pid = Number(productId)
      const q = Math.max(0, Math.min(MAX_QUANTITY, Math.floor(Number(quantity) || 0)))
      if (this.owner !== null) {
        this.applyServer(await orderApi.setCartQuantity(pid, q))
        return
      }
      const items = readGuest()
        .map((l) => (l.product_id === pid ? { ...l, quantity: q } : l))
        .filter((l) => l.quantity > 0)
      writeGuest(items)
      this.applyGuest(items)
    },
    async remove(productId) {
      await this.ensure()
      const pid = Number(productId)
      if (this.owner !== null) {
        this.applyServer(await orderApi.removeFromCart(pid))
        return
      }
      const items = readGuest().filter((l) => l.product_id !== pid)
      writeGuest(items)
      this.applyGuest(items)
    },
    /** After checkout the server cart is empty. */
    emptied() {
      this.items = []
    },
    /** Another tab changed the guest cart. */
    onStorage(event) {
      if (event.key === GUEST_CART_KEY && this.owner === null) this.applyGuest(readGuest())
    },
  },
})
