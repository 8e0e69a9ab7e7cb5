// Vite build of the storefront. The C++ server embeds web/dist and serves it at "/",
// falling back to index.html for unknown non-API paths (Vue Router history mode).
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import vuetify from 'vite-plugin-vuetify'
import * as mdi from '@mdi/js'

/**
 * Turns `import { mdiX } from '@mdi/js'` in our own files into the icon's path data, so each
 * chunk carries only the icons its pages draw. Left as an import, @mdi/js is one module shared by
 * every chunk, and the bundler puts all icons used anywhere (seller and admin pages too) into the
 * first download of every page.
 */
function inlineMdiIcons() {
  const IMPORT = /import\s*\{([^}]*)\}\s*from\s*['"]@mdi\/js['"];?/g
  return {
    name: 'emporium-inline-mdi-icons',
    enforce: 'pre',
    transform(code, id) {
      if (id.includes('/node_modules/') || !/\.(vue|js)$/.test(id.split('?')[0]) || !code.includes('@mdi/js')) return null
      const out = code.replace(IMPORT, (_, names) =>
        names
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean)
          .map((spec) => {
            const [name, alias = name] = spec.split(/\s+as\s+/).map((s) => s.trim())
            if (typeof mdi[name] !== 'string') this.error(`@mdi/js has no icon ${name}`)
            return `const ${alias} = ${JSON.stringify(mdi[name])};`
          })
          .join('\n'),
      )
      return { code: out, map: null }
    },
  }
}

export default defineConfig({
  plugins: [inlineMdiIcons(), vue(), vuetify({ autoImport: true })],
  // Every component here and in Vuetify is written with setup(): without the Options API, Vue's
  // runtime is smaller and mounting a component skips its options pass (the shopper pages mount a
  // few dozen at first paint).
  define: { __VUE_OPTIONS_API__: 'false' },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    // Nothing is inlined into index.html (CSP-friendly).
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1200,
    // Two pages: the storefront, and the API reference the server answers at /api/docs. Every
    // browser the shop supports has modulepreload: without the polyfill, the two pages share no
    // chunk, and the storefront's first download stays one script.
    rollupOptions: { input: { index: 'index.html', 'api-docs': 'api-docs.html' } },
    modulePreload: { polyfill: false },
  },
  server: {
    // `npm run dev` talks to a local `emporium serve` on the default port.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
})
