// The catalog's view as its URL query states it, and the reads the shopper pages start with.
// Shared by those pages and by firstRead, which main.js sends before the first page is drawn:
// both must name the same URL.

export const PER_PAGE = 24
export const SORTS = [
  { title: 'Best match', value: 'relevance' },
  { title: 'Most popular', value: 'popular' },
  { title: 'Newest', value: 'newest' },
  { title: 'Price: low to high', value: 'price_asc' },
  { title: 'Price: high to low', value: 'price_desc' },
]

const str = (v) => (typeof v === 'string' ? v.trim() : '')
const cents = (v) => (/^\d+$/.test(str(v)) ? Number(str(v)) : null)

/** The catalog view of a route query, with defaults filled in: { q, category, min_price, max_price, sort, page }. */
export function catalogView(query) {
  const q = str(query.q)
  let sort = str(query.sort)
  if (!SORTS.some((s) => s.value === sort) || (sort === 'relevance' && !q)) sort = q ? 'relevance' : 'popular'
  const page = Math.max(1, Number.parseInt(str(query.page), 10) || 1)
  return { q, category: str(query.category), min_price: cents(query.min_price), max_price: cents(query.max_price), sort, page }
}

/** The GET /api/products query for `view`'s page `page` of `perPage` products. */
export function catalogParams(view, page = view.page, perPage = PER_PAGE) {
  const { q, category, min_price, max_price, sort } = view
  return { q, category, min_price, max_price, sort, page, per_page: perPage }
}

/** The GET /api/products query of one of the home page's shelves (sort: "popular", "newest"). */
export function shelfParams(sort) {
  return { sort, per_page: 8 }
}

/**
 * The read a shopper page starts with, as [path, params] of a GET, or null. main.js sends it while
 * the scripts, branding and session still load (api.js prefetch), so the page's products are on
 * their way before it is drawn; it must name the URL the page itself asks for.
 */
export function firstRead(to) {
  if (to.name === 'home') return ['/api/products', shelfParams('popular')]
  if (to.name === 'catalog') return ['/api/products', catalogParams(catalogView(to.query))]
  if (to.name === 'product') return [`/api/products/${to.params.id}`]
  return null
}
