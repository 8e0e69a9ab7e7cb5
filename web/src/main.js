import './styles.css' // first: the components' own styles come after it and refine it
import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { router } from './router'
import { firstRead } from './catalog'
import { ensureVuetify } from './plugins/lazy-vuetify'
import { installThemeSheet } from './plugins/theme-sheet'
import { dropPrefetched, prefetch, setRetryListener, setUnauthorizedHandler } from './api'
import { warmMoneyFormat } from './format'
import { useShopStore } from './stores/shop'
import { useAuthStore } from './stores/auth'
import { useCategoriesStore } from './stores/categories'
import { useNoticeStore } from './stores/notice'
import { useBusyStore } from './stores/busy'

const app = createApp(App)
const pinia = createPinia()
installThemeSheet(app) // before Vuetify, which looks for it when installed

// Load the branding, the categories (both preloaded by index.html) and who is signed in before
// the first paint, so the page never flashes the neutral theme, placeholder category tiles that
// then change the layout, or a "Sign in" button for a signed-in shopper.
const shop = useShopStore(pinia)
const auth = useAuthStore(pinia)
const ready = Promise.allSettled([shop.load(), auth.load(), useCategoriesStore(pinia).load()])

// Pages other than the shopper's (meta.light) need Vuetify, in the shop's colours.
router.beforeEach(async (to) => {
  if (to.meta.light) return
  await ready
  await ensureVuetify(app, () => shop.theme)
})
app.use(pinia).use(router)

// A request answered 401 while we thought we were signed in: the session ended
// (signed out elsewhere, role changed, expired). Forget it and ask to sign in again.
setUnauthorizedHandler(() => {
  const wasSignedIn = auth.signedIn
  auth.forget()
  const current = router.currentRoute.value
  if (current.meta.auth) {
    router.replace({ name: 'signin', query: { next: current.fullPath } })
    if (wasSignedIn) useNoticeStore(pinia).show('Your session has ended. Please sign in again.', 'info')
  }
})

// Reads that wait out a busy shop's 503 say so page-wide (buttons that retry say it themselves).
const busy = useBusyStore(pinia)
setRetryListener((state) => busy.onRetry(state))

// While the branding, categories and session load, the first page's own read goes out too, and
// the browser loads its number formats (for prices), so neither waits until the page is drawn.
// A prefetched answer the first page did not take is forgotten when the shopper moves on.
const first = firstRead(router.resolve(window.location.pathname + window.location.search))
if (first) prefetch(...first)
warmMoneyFormat()
router.afterEach((to, from) => {
  if (from.matched.length) dropPrefetched()
})

ready.finally(() => app.mount('#app'))
