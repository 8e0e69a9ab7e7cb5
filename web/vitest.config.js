// Vitest: unit tests of the page's plain modules (form rules, the API client, stores,
// composables) in a simulated browser (happy-dom). The pages themselves are tested in a real
// browser by tests/e2e/.
import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  plugins: [vue()],
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.js'],
    reporters: ['default', './vitest.summary.js'],
  },
})
