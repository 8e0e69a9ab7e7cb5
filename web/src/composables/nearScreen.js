// True once `target` (an element ref) comes within `margin` of the screen: for parts of a page far
// below the fold, which then ask for their data and pictures only when someone scrolls towards them.
import { onBeforeUnmount, ref, watch } from 'vue'

export function useNearScreen(target, margin = '400px') {
  const near = ref(false)
  if (typeof IntersectionObserver === 'undefined') {
    near.value = true
    return near
  }
  const observer = new IntersectionObserver(
    (entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        near.value = true
        observer.disconnect()
      }
    },
    { rootMargin: margin },
  )
  watch(
    target,
    (el, old) => {
      if (old) observer.unobserve(old)
      if (el && !near.value) observer.observe(el)
    },
    { immediate: true },
  )
  onBeforeUnmount(() => observer.disconnect())
  return near
}
