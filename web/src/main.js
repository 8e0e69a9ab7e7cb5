import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { router } from './router'
import { vuetify } from './plugins/vuetify'
import { installThemeSheet } from './plugins/theme-sheet'
import { useShopStore } from './stores/shop'
import './styles.css'

const app = createApp(App)
const pinia = createPinia()
installThemeSheet(app) // before Vuetify, which looks for it when installed
app.use(pinia).use(router).use(vuetify)

// Load the branding before the first paint so the page never flashes the neutral theme.
const shop = useShopStore(pinia)
shop.load().finally(() => app.mount('#app'))
