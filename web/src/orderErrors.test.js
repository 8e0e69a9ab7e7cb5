import { describe, expect, test } from 'vitest'
import { ApiError } from './api'
import { checkoutErrors, lineProblem } from './orderErrors'

const FIELDS = { 'shipping_address.city': ['address.city', 'City'], phone: ['phone', 'Mobile phone'] }
const invalid = (fields) => new ApiError(422, 'validation_failed', 'Some fields are not valid.', { fields })

describe('cart line problems, read by code and parameters', () => {
  test('a price change names both prices in the cart currency', () => {
    const p = lineProblem({ field: 'items.7.price_cents', code: 'price_changed', old_price_cents: 1999, price_cents: 2499, message: 'x' }, 'USD')
    expect(p).toEqual({ kind: 'price', text: 'The price changed from $19.99 to $24.99.' })
    const yen = lineProblem({ field: 'items.7.price_cents', code: 'price_changed', old_price_cents: 1000, price_cents: 1200 }, 'JPY')
    expect(yen.text).toBe('The price changed from ¥1,000 to ¥1,200.')
  })

  test('too few left offers what is left; none left, or not sold, offers removal', () => {
    expect(lineProblem({ field: 'items.7', code: 'insufficient_stock', available: 3, message: 'x' }, 'USD')).toEqual({
      kind: 'stock',
      text: 'Only 3 left in stock.',
      left: 3,
    })
    expect(lineProblem({ field: 'items.7', code: 'insufficient_stock', available: 0 }, 'USD')).toEqual({ kind: 'stock', text: 'This item is out of stock.' })
    expect(lineProblem({ field: 'items.7', code: 'out_of_stock' }, 'USD')).toEqual({ kind: 'stock', text: 'This item is out of stock.' })
    expect(lineProblem({ field: 'items.7', code: 'not_sold' }, 'USD')).toEqual({ kind: 'stock', text: 'This item is no longer sold.' })
  })

  test('no code, an unknown code or a missing parameter: the server message, never parsed', () => {
    // An older server's sentence: shown as it is, with no "Buy 3 instead" guessed from its words.
    expect(lineProblem({ field: 'items.7', message: 'only 3 left' }, 'USD')).toEqual({ kind: 'stock', text: 'This item only 3 left.' })
    expect(lineProblem({ field: 'items.7.price_cents', message: 'the price changed from 1999 to 2499 cents' }, 'USD')).toEqual({
      kind: 'price',
      text: 'The price changed from 1999 to 2499 cents.',
    })
    expect(lineProblem({ field: 'items.7', code: 'insufficient_stock', message: 'is short' }, 'USD').left).toBeUndefined()
    expect(lineProblem({ field: 'items.7', code: 'recalled', message: 'Recalled by the maker.' }, 'USD').text).toBe('Recalled by the maker.')
  })
})

describe('checkoutErrors', () => {
  test('splits form fields, cart lines and the rest', () => {
    const out = checkoutErrors(
      invalid([
        { field: 'shipping_address.city', code: 'required', message: 'is required' },
        { field: 'phone', code: 'invalid_phone', message: 'x' },
        { field: 'items.7.price_cents', code: 'price_changed', old_price_cents: 100, price_cents: 200 },
        { field: 'items.7', code: 'insufficient_stock', available: 2 },
        { field: 'items.9', code: 'not_sold' },
        { field: 'cart', code: 'empty', message: 'is empty' },
        { field: 'coupon', code: 'unknown_field', message: 'is not a known field' },
      ]),
      FIELDS,
      'USD',
    )
    expect(out.fields['address.city']).toBe('City is required.')
    expect(out.fields.phone).toMatch(/international format/)
    // The stock problem decides what can be bought, whichever entry came first.
    expect(out.lines[7]).toEqual({ kind: 'stock', text: 'Only 2 left in stock.', left: 2 })
    expect(out.lines[9].text).toBe('This item is no longer sold.')
    expect(out.other).toEqual(['Your cart is empty.', 'Coupon is not a known field.'])
  })

  test('an answer without field entries has nothing to split', () => {
    expect(checkoutErrors(new ApiError(503, 'overloaded', 'Busy.'), FIELDS, 'USD')).toEqual({ fields: {}, lines: {}, other: [] })
  })
})
