// Keeps document.title as "<page> · <shop name>" (just the shop name on the home page).
import { watchEffect, unref } from 'vue'
import { useShopStore } from './stores/shop'

export function usePageTitle(page) {
  const shop = useShopStore()
  watchEffect(() => {
    const p = unref(typeof page === 'function' ? page() : page)
    document.title = p ? `${p} · ${shop.name}` : shop.name
  })
}
