// "Latest request wins": a page asks again whenever its filters, page or id change, and answers
// can come back out of order when someone clicks fast. Only the newest request's answer or error
// is shown; older ones are dropped when they land.
import { computed, ref } from 'vue'

/**
 * `run(request)` calls `request(isCurrent)` and resolves to its value while that call is still the
 * newest one, or to undefined when a newer call started meanwhile or it failed. `loading` is true
 * while the newest call runs; `error` holds its failure (a 401 is left to api.js's session handler,
 * which sends the person to sign in). `isCurrent()` lets a request of several steps stop early.
 */
export function useLatest() {
  let sequence = 0
  const loading = ref(false)
  const error = ref(null)

  async function run(request) {
    const mine = ++sequence
    const isCurrent = () => mine === sequence
    loading.value = true
    error.value = null
    try {
      const value = await request(isCurrent)
      return isCurrent() ? value : undefined
    } catch (e) {
      if (isCurrent() && e.status !== 401) error.value = e
      return undefined
    } finally {
      if (isCurrent()) loading.value = false
    }
  }

  return { loading, error, run }
}

/**
 * A paged list from an API list route ({items, total}): `fetchPage({ page, per_page })` asks for
 * one page. `page` and `perPage` are refs a pager or data table may bind; `load()` asks for the
 * current page; `loaded` turns true with the first answer.
 */
export function usePagedList(fetchPage, { perPage = 25 } = {}) {
  const { loading, error, run } = useLatest()
  const items = ref([])
  const total = ref(0)
  const page = ref(1)
  const per = ref(perPage)
  const loaded = ref(false)
  const pages = computed(() => Math.max(1, Math.ceil(total.value / per.value)))

  async function load() {
    const answer = await run(() => fetchPage({ page: page.value, per_page: per.value }))
    if (!answer) return false
    items.value = Array.isArray(answer.items) ? answer.items : []
    total.value = Number(answer.total) || 0
    loaded.value = true
    return true
  }

  return { items, total, page, perPage: per, pages, loading, loaded, error, load }
}
