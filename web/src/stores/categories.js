// Category list (GET /api/categories), loaded once and shared by the header, home and catalog.
import { defineStore } from 'pinia'
import { api } from '../api'

let pending = null

export const useCategoriesStore = defineStore('categories', {
  state: () => ({ items: [], loading: false, loaded: false, error: null }),
  getters: {
    bySlug: (state) => (slug) => state.items.find((c) => c.slug === slug) || null,
  },
  actions: {
    async load({ force = false } = {}) {
      if ((this.loaded && !force) || this.loading) return pending
      this.loading = true
      this.error = null
      pending = api
        .categories()
        .then((items) => {
          this.items = Array.isArray(items) ? items : []
          this.loaded = true
        })
        .catch((e) => {
          this.error = e
        })
        .finally(() => {
          this.loading = false
        })
      return pending
    },
  },
})
