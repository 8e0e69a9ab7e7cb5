// The storefront's own colours, from the shop's branding (GET /api/store theme). The shopper pages
// (home, catalog, product, cart) use no Vuetify: they read these CSS custom properties, set on
// <html> through the CSSOM (allowed by the strict style-src policy). Every text colour here is
// chosen to reach WCAG AA contrast (4.5:1) on both the page background and the card surface,
// whatever colours a shop picks; Vuetify's own theme (plugins/vuetify.js) serves the other pages.

/** The colours of a shop without branding (Vuetify's theme starts from them too). */
export const NEUTRAL_COLORS = { primary: '#3949ab', secondary: '#00897b', accent: '#e91e63', background: '#f5f6fa', surface: '#ffffff' }
const HEX = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i
const BRAND_KEYS = Object.keys(NEUTRAL_COLORS)

/** The branding's colours that are valid '#rgb' or '#rrggbb' values (others are left out). */
export function brandColors(theme) {
  const colors = {}
  for (const key of BRAND_KEYS) {
    if (theme && typeof theme[key] === 'string' && HEX.test(theme[key])) colors[key] = theme[key]
  }
  return colors
}
export const AA = 4.6 // a little above 4.5, so rounding in browsers and checkers never tips it under

/** '#abc' or '#aabbcc' -> [r, g, b] (0-255). */
export function rgb(hex) {
  let h = hex.slice(1)
  if (h.length === 3) h = [...h].map((c) => c + c).join('')
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16))
}

export function toHex([r, g, b]) {
  return '#' + [r, g, b].map((v) => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, '0')).join('')
}

/** WCAG relative luminance. */
export function luminance(hex) {
  const [r, g, b] = rgb(hex).map((v) => {
    const c = v / 255
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  })
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x)
  return (hi + 0.05) / (lo + 0.05)
}

/** `a` mixed with `b`: t = 0 gives a, t = 1 gives b. */
export function mix(a, b, t) {
  const x = rgb(a)
  const y = rgb(b)
  return toHex(x.map((v, i) => v + (y[i] - v) * t))
}

/**
 * `color` itself when it reads at `ratio` on every one of `backgrounds`, else the nearest colour
 * towards black or white (whichever the backgrounds need) that does.
 */
export function readable(color, backgrounds, ratio = AA) {
  const ok = (c) => backgrounds.every((bg) => contrast(c, bg) >= ratio)
  if (ok(color)) return color
  const darkBackgrounds = backgrounds.reduce((s, bg) => s + luminance(bg), 0) / backgrounds.length < 0.18
  const target = darkBackgrounds ? '#ffffff' : '#000000'
  for (let t = 0.05; t < 1; t += 0.05) {
    const c = mix(color, target, t)
    if (ok(c)) return c
  }
  return target
}

/** Black or white text, whichever reads better on `background`. */
export function onColor(background) {
  return contrast('#ffffff', background) >= contrast('#111111', background) ? '#ffffff' : '#111111'
}

// The status colours of both the storefront's own styles and Vuetify's (text-warning, chips, alerts).
const STATUS_COLORS = {
  light: { error: '#c62828', info: '#1565c0', success: '#2e7d32', warning: '#b45309' },
  dark: { error: '#ff6b81', info: '#64b5f6', success: '#69f0ae', warning: '#ffb74d' },
}

/** The status colours for a light or dark look, each moved just enough to read as text on every one of `grounds`. */
export function statusColors(dark, grounds) {
  return Object.fromEntries(Object.entries(STATUS_COLORS[dark ? 'dark' : 'light']).map(([name, c]) => [name, readable(c, grounds)]))
}

/** The CSS custom properties of the storefront for a branding ({dark, primary, ..., surface}). */
export function shopColors(theme) {
  const t = { ...NEUTRAL_COLORS, ...brandColors(theme) }
  const dark = Boolean(theme && theme.dark)
  const grounds = [t.background, t.surface]
  const text = readable(dark ? '#f2f2f7' : '#1b1b21', grounds, 7)
  const status = statusColors(dark, grounds)
  const mutedStart = mix(text, t.surface, 0.45)
  const onPrimary = onColor(t.primary)
  const heroEnd = mix(t.primary, onPrimary === '#ffffff' ? '#000000' : '#ffffff', 0.3)
  const heroText = readable(onPrimary, [t.primary, heroEnd])
  return {
    dark,
    vars: {
      '--shop-bg': t.background,
      '--shop-surface': t.surface,
      '--shop-text': text,
      '--shop-muted': readable(mutedStart, grounds),
      '--shop-border': mix(text, t.surface, 0.82),
      '--shop-field-border': readable(mix(text, t.surface, 0.6), grounds, 3),
      '--shop-tint': mix(t.surface, text, 0.06),
      // A button's fill, moved just enough from the brand colour for its label to read.
      '--shop-primary': readable(t.primary, [onPrimary]),
      '--shop-on-primary': onPrimary,
      '--shop-hero-end': heroEnd,
      '--shop-hero-text': heroText,
      '--shop-hero-button-text': readable(t.primary, [heroText]),
      '--shop-link': readable(t.primary, grounds),
      '--shop-primary-tint': mix(t.surface, t.primary, dark ? 0.22 : 0.1),
      '--shop-secondary': t.secondary,
      '--shop-error': status.error,
      '--shop-success': status.success,
      '--shop-warning': status.warning,
      '--shop-focus': readable(t.primary, grounds, 3),
    },
  }
}

/** Puts the storefront colours on <html> (and the browser's colour scheme with them). */
export function applyShopTheme(theme, root = document.documentElement) {
  const { dark, vars } = shopColors(theme)
  for (const [name, value] of Object.entries(vars)) root.style.setProperty(name, value)
  root.style.colorScheme = dark ? 'dark' : 'light'
}
