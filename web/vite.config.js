// Vite build of the storefront. The C++ server embeds web/dist and serves it at "/",
// falling back to index.html for unknown non-API paths (Vue Router history mode).
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import vuetify from 'vite-plugin-vuetify'

export default defineConfig({
  plugins: [vue(), vuetify({ autoImport: true })],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    // One CSS file and a few JS chunks: nothing is inlined into index.html (CSP-friendly).
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npm run dev` talks to a local `emporium serve` on the default port.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
})
