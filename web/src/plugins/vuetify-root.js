// The part of the page that only Vuetify pages load (see lazy-vuetify.js).
export { vuetify, applyBranding } from './vuetify'
export { default as VuetifyRoot } from './VuetifyRoot.vue'
