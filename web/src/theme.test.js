import { describe, expect, test } from 'vitest'
import { AA, NEUTRAL_COLORS, applyShopTheme, contrast, readable, shopColors, statusColors } from './theme'

// The two demo shops, the neutral look, and brandings that are hard to read on: a light brand
// on white, a mid-grey page, a dark brand on a dark page.
const THEMES = {
  games: { dark: true, primary: '#7c4dff', secondary: '#00e5ff', accent: '#ff4081', background: '#0f1020', surface: '#1b1d33' },
  grocery: { dark: false, primary: '#2e7d32', secondary: '#f9a825', accent: '#ef6c00', background: '#f6f8f3', surface: '#ffffff' },
  neutral: null,
  yellow: { dark: false, primary: '#ffeb3b', background: '#ffffff', surface: '#fafafa' },
  grey: { dark: false, primary: '#1e88e5', background: '#9e9e9e', surface: '#bdbdbd' },
  navy: { dark: true, primary: '#1a237e', background: '#0d1b2a', surface: '#1b263b' },
}

describe('shopColors', () => {
  for (const [name, theme] of Object.entries(THEMES)) {
    test(`${name}: every text colour reads at 4.5:1 on the page and on cards`, () => {
      const v = shopColors(theme).vars
      for (const ground of [v['--shop-bg'], v['--shop-surface']]) {
        for (const text of ['--shop-text', '--shop-muted', '--shop-link', '--shop-error', '--shop-success', '--shop-warning']) {
          expect(contrast(v[text], ground), `${text} ${v[text]} on ${ground}`).toBeGreaterThanOrEqual(4.5)
        }
        expect(contrast(v['--shop-text'], v['--shop-primary-tint']), 'text on the selected category').toBeGreaterThanOrEqual(4.5)
      }
      expect(contrast(v['--shop-on-primary'], v['--shop-primary']), 'button label').toBeGreaterThanOrEqual(4.5)
      expect(contrast(v['--shop-hero-text'], v['--shop-primary']), 'hero text, left').toBeGreaterThanOrEqual(4.5)
      expect(contrast(v['--shop-hero-text'], v['--shop-hero-end']), 'hero text, right').toBeGreaterThanOrEqual(4.5)
      expect(contrast(v['--shop-hero-button-text'], v['--shop-hero-text']), 'hero button').toBeGreaterThanOrEqual(4.5)
    })
  }

  for (const [name, theme] of Object.entries(THEMES)) {
    test(`${name}: Vuetify's status colours (text-warning, ...) read at 4.5:1 on the page and on cards`, () => {
      const t = { ...NEUTRAL_COLORS, ...(theme || {}) }
      const status = statusColors(Boolean(theme?.dark), [t.background, t.surface])
      expect(Object.keys(status).sort()).toEqual(['error', 'info', 'success', 'warning'])
      for (const ground of [t.background, t.surface]) {
        for (const [which, color] of Object.entries(status)) {
          expect(contrast(color, ground), `${which} ${color} on ${ground}`).toBeGreaterThanOrEqual(4.5)
        }
      }
    })
  }

  test('keeps a brand colour that already reads, and only moves one that does not', () => {
    expect(shopColors(THEMES.grocery).vars['--shop-link']).toBe('#2e7d32')
    expect(shopColors(THEMES.games).vars['--shop-link']).not.toBe('#7c4dff')
  })

  test('ignores values that are not colours', () => {
    const v = shopColors({ primary: 'url(javascript:x)', background: 'red' }).vars
    expect(v['--shop-primary']).toMatch(/^#[0-9a-f]{6}$/)
    expect(v['--shop-bg']).toMatch(/^#[0-9a-f]{6}$/)
  })
})

test('readable moves towards white on dark grounds and towards black on light ones', () => {
  const onDark = readable('#444444', ['#101010'])
  const onLight = readable('#bbbbbb', ['#ffffff'])
  expect(contrast(onDark, '#101010')).toBeGreaterThanOrEqual(AA)
  expect(contrast(onLight, '#ffffff')).toBeGreaterThanOrEqual(AA)
  expect(parseInt(onDark.slice(1, 3), 16)).toBeGreaterThan(0x44)
  expect(parseInt(onLight.slice(1, 3), 16)).toBeLessThan(0xbb)
})

test('applyShopTheme puts the colours and the colour scheme on <html>', () => {
  applyShopTheme(THEMES.games)
  const style = document.documentElement.style
  expect(style.getPropertyValue('--shop-bg')).toBe('#0f1020')
  expect(style.colorScheme).toBe('dark')
  applyShopTheme(THEMES.grocery)
  expect(style.colorScheme).toBe('light')
})
