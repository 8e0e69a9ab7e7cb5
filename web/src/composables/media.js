// A CSS media query as a ref that follows the window: for the few places where phones and wide
// screens differ in what is rendered, not only in how it is laid out (that is left to CSS).
import { onBeforeUnmount, ref } from 'vue'

export function useMedia(query) {
  const list = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(query) : null
  const matches = ref(Boolean(list && list.matches))
  const update = (e) => (matches.value = e.matches)
  list?.addEventListener('change', update)
  onBeforeUnmount(() => list?.removeEventListener('change', update))
  return matches
}

/** True below 960 px, where the shop switches to its phone layout. */
export const usePhone = () => useMedia('(max-width: 959.98px)')
