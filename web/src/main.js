import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { router } from './router'
import { vuetify } from './plugins/vuetify'
import { installThemeSheet } from './plugins/theme-sheet'
import { watchInvalidFields } from './plugins/aria-invalid'
import { setRetryListener, setUnauthorizedHandler } from './api'
import { useShopStore } from './stores/shop'
import { useAuthStore } from './stores/auth'
import { useNoticeStore } from './stores/notice'
import { useBusyStore } from './stores/busy'
import './styles.css'

const app = createApp(App)
const pinia = createPinia()
installThemeSheet(app) // before Vuetify, which looks for it when installed
app.use(pinia).use(router).use(vuetify)

// A request answered 401 while we thought we were signed in: the session ended
// (signed out elsewhere, role changed, expired). Forget it and ask to sign in again.
const auth = useAuthStore(pinia)
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

// Load the branding and who is signed in before the first paint, so the page never
// flashes the neutral theme or a "Sign in" button for a signed-in shopper.
const shop = useShopStore(pinia)
Promise.allSettled([shop.load(), auth.load()]).finally(() => {
  app.mount('#app')
  watchInvalidFields(document.getElementById('app'))
})
