import { describe, expect, test } from 'vitest'
import { catalogParams, catalogView, firstRead } from './catalog'

describe('catalogView', () => {
  test('fills in defaults and drops what the URL got wrong', () => {
    expect(catalogView({})).toEqual({ q: '', category: '', min_price: null, max_price: null, sort: 'popular', page: 1 })
    expect(catalogView({ q: ' tea ', sort: 'bogus', page: '-3', min_price: '1.5', max_price: '900' })).toEqual({
      q: 'tea',
      category: '',
      min_price: null,
      max_price: 900,
      sort: 'relevance',
      page: 1,
    })
    expect(catalogView({ sort: 'relevance' }).sort).toBe('popular') // nothing to match without a search
  })

  test('catalogParams asks for the view, its page and the page size', () => {
    const view = catalogView({ category: 'dairy', sort: 'price_asc', page: '3' })
    expect(catalogParams(view)).toEqual({ q: '', category: 'dairy', min_price: null, max_price: null, sort: 'price_asc', page: 3, per_page: 24 })
    expect(catalogParams(view, 1, 5)).toMatchObject({ page: 1, per_page: 5 })
  })
})

describe('firstRead', () => {
  test('names the read each shopper page starts with, and none for other pages', () => {
    expect(firstRead({ name: 'home', query: {}, params: {} })).toEqual(['/api/products', { sort: 'popular', per_page: 8 }])
    expect(firstRead({ name: 'catalog', query: { q: 'milk' }, params: {} })).toEqual([
      '/api/products',
      { q: 'milk', category: '', min_price: null, max_price: null, sort: 'relevance', page: 1, per_page: 24 },
    ])
    expect(firstRead({ name: 'product', query: {}, params: { id: '42' } })).toEqual(['/api/products/42'])
    expect(firstRead({ name: 'cart', query: {}, params: {} })).toBeNull()
    expect(firstRead({ name: 'admin-users', query: {}, params: {} })).toBeNull()
  })
})
