// One short message at a time for the page-wide snackbar ("Saved", "Signed out", ...).
import { defineStore } from 'pinia'

let counter = 0

export const useNoticeStore = defineStore('notice', {
  state: () => ({ text: '', color: 'success', key: 0, shown: false }),
  actions: {
    show(text, color = 'success') {
      this.text = text
      this.color = color
      this.key = ++counter
      this.shown = true
    },
    error(text) {
      this.show(text, 'error')
    },
  },
})
