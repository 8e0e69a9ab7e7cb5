// Requests that wait out a busy shop's 503 before trying again (see api.js) and have no button of
// their own to say so: page loads, lists. App.vue shows one notice while any of them waits.
import { defineStore } from 'pinia'

export const useBusyStore = defineStore('busy', {
  state: () => ({ waits: {} }), // request id -> when its next try goes out (Date.now() ms)
  getters: {
    waiting: (state) => Object.keys(state.waits).length > 0,
    /** Whole seconds until the next try of any waiting request (at least 1 while one waits). */
    seconds: (state) => {
      const next = Math.min(...Object.values(state.waits))
      return Number.isFinite(next) ? Math.max(1, Math.ceil((next - Date.now()) / 1000)) : 0
    },
  },
  actions: {
    /** The page-wide listener of api.js setRetryListener. */
    onRetry(state) {
      const waits = { ...this.waits }
      if (state.done) delete waits[state.id]
      else waits[state.id] = state.until
      this.waits = waits
    },
  },
})
