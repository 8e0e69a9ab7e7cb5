// Vuetify with SVG icons from @mdi/js (no icon font, nothing fetched at run time).
// The "shop" theme starts neutral and is replaced by the branding from GET /api/store.
import 'vuetify/styles'
import { createVuetify } from 'vuetify'
import { aliases, mdi } from 'vuetify/iconsets/mdi-svg'
import { NEUTRAL_COLORS, brandColors, onColor, statusColors } from '../theme'

export const vuetify = createVuetify({
  icons: { defaultSet: 'mdi', aliases, sets: { mdi } },
  theme: {
    defaultTheme: 'shop',
    themes: {
      shop: {
        dark: false,
        colors: { ...NEUTRAL_COLORS },
      },
    },
  },
  defaults: {
    VBtn: { rounded: 'lg' },
    VCard: { rounded: 'lg' },
    VTextField: { variant: 'outlined', density: 'comfortable' },
    VSelect: { variant: 'outlined', density: 'comfortable' },
  },
})

// Emphasis levels that keep secondary text (field labels, hints, subtitles) at 4.5:1 or better on
// the shop's surfaces: Vuetify's own 0.60 falls under it once a label's 0.87 is applied on top.
const VARIABLES_LIGHT = {
  'border-color': '#000000',
  'high-emphasis-opacity': 0.87,
  'medium-emphasis-opacity': 0.72,
  'idle-opacity': 0.04,
  'pressed-opacity': 0.12,
}
const VARIABLES_DARK = {
  'border-color': '#FFFFFF',
  'high-emphasis-opacity': 1,
  'medium-emphasis-opacity': 0.78,
  'idle-opacity': 0.1,
  'pressed-opacity': 0.16,
}

/** Applies the store's branding ({dark, primary, secondary, accent, background, surface}); null: the neutral look. */
export function applyBranding(theme) {
  const colors = brandColors(theme)
  const dark = Boolean(theme && theme.dark)
  const grounds = [colors.background || NEUTRAL_COLORS.background, colors.surface || NEUTRAL_COLORS.surface]
  const status = statusColors(dark, grounds)
  // Text on a status fill (a flat chip, an alert) picked by WCAG contrast: Vuetify's own pick (APCA)
  // puts white on the dark mode's light red, 2.7:1.
  const onStatus = Object.fromEntries(Object.entries(status).map(([name, fill]) => [`on-${name}`, onColor(fill)]))
  const current = vuetify.theme.themes.value.shop
  vuetify.theme.themes.value.shop = {
    ...current,
    dark,
    // Status colours readable on the chosen mode's surfaces.
    colors: { ...current.colors, ...status, ...onStatus, ...colors },
    variables: { ...current.variables, ...(dark ? VARIABLES_DARK : VARIABLES_LIGHT) },
  }
  vuetify.theme.global.name.value = 'shop'
}
