// Vuetify is loaded on demand: the shopper pages (routes with meta.light) are plain Vue and never
// download it; the first route without meta.light (sign-in, account, checkout, seller, admin, and
// any page added later) waits for it to load and install before it renders.
import { shallowRef } from 'vue'
import { watchInvalidFields } from './aria-invalid'

/** The component that gives Vuetify pages their Vuetify root (v-app); null until loaded. */
export const vuetifyRoot = shallowRef(null)

let pending = null

/** Loads and installs Vuetify into `app` once, with the shop's branding from `theme()`. */
export function ensureVuetify(app, theme) {
  if (!pending) {
    pending = import('./vuetify-root.js')
      .then(({ vuetify, applyBranding, VuetifyRoot }) => {
        app.use(vuetify)
        applyBranding(theme())
        vuetifyRoot.value = VuetifyRoot
        watchInvalidFields(document.getElementById('app')) // Vuetify's fields only mark errors with a class
      })
      .catch((e) => {
        pending = null // a failed download is tried again on the next navigation
        throw e
      })
  }
  return pending
}
