// Shop branding from GET /api/store: name, tagline, logo text, currency and theme.
import { defineStore } from 'pinia'
import { api } from '../api'
import { applyShopTheme } from '../theme'

const FALLBACK = { preset: '', name: 'Emporium', tagline: '', logo_text: 'EMPORIUM', currency: 'USD', theme: null }

export const useShopStore = defineStore('shop', {
  state: () => ({ ...FALLBACK, loaded: false, error: null }),
  actions: {
    async load() {
      try {
        const store = await api.store()
        this.$patch({ ...FALLBACK, ...store, loaded: true, error: null })
        applyShopTheme(store.theme)
      } catch (e) {
        this.error = e
        this.loaded = true
        applyShopTheme(null)
      }
      document.title = this.name
    },
  },
})
