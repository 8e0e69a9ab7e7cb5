// Counting what recommendations lead to, per model version: a click on a recommended product is
// sent at once; the version is remembered for that product (this tab only) so that adding it to
// the cart afterwards counts as an add-to-cart of that version. Failures are ignored: counting
// never gets in a shopper's way.
import { api } from './api'

const KEY = 'emporium_rec_'

export function recordClick(productId, version) {
  if (!productId || version === undefined || version === null) return
  try {
    sessionStorage.setItem(KEY + productId, String(version))
  } catch {
    // storage may be off: the click still counts
  }
  api.recommendationFeedback({ model_version: version, event: 'click' }).catch(() => {})
}

/** Counts an add-to-cart when productId was reached from a recommendation (once). */
export function recordAddToCart(productId) {
  let version = null
  try {
    version = sessionStorage.getItem(KEY + productId)
    sessionStorage.removeItem(KEY + productId)
  } catch {
    return
  }
  if (version === null || !/^\d+$/.test(version)) return
  api.recommendationFeedback({ model_version: Number(version), event: 'add_to_cart' }).catch(() => {})
}
