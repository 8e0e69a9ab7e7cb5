import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, test } from 'vitest'
import { GUEST_CART_KEY, MAX_QUANTITY, currencyMismatchText, useCartStore } from './cart'
import { useShopStore } from './shop'

const game = { id: 1, name: 'Chess set', price_cents: 2500, currency: 'USD', image_url: '/1.svg' }
const dice = { id: 2, name: 'Dice', price_cents: 300, currency: 'USD', image_url: '' }
const euroGame = { id: 3, name: 'Tarot', price_cents: 1900, currency: 'EUR', image_url: '' }

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
  useShopStore().currency = 'USD'
})

describe('the guest cart', () => {
  test('adds, sums and keeps its lines in localStorage', async () => {
    const cart = useCartStore()
    await cart.add(game, 2)
    await cart.add(dice)
    await cart.add(game, 1)
    expect(cart.isGuest).toBe(true)
    expect(cart.count).toBe(4)
    expect(cart.totalCents).toBe(3 * 2500 + 300)
    expect(cart.quantityOf(1)).toBe(3)
    const stored = JSON.parse(localStorage.getItem(GUEST_CART_KEY))
    expect(stored.items.map((l) => [l.product_id, l.quantity, l.currency])).toEqual([
      [1, 3, 'USD'],
      [2, 1, 'USD'],
    ])
  })

  test('holds one currency: a product in another is refused as the server refuses it', async () => {
    const cart = useCartStore()
    await cart.add(game)
    const refused = await cart.add(euroGame).catch((e) => e)
    expect(refused.status).toBe(409)
    expect(refused.code).toBe('currency_mismatch')
    expect(refused.message).toBe(currencyMismatchText('USD', 'EUR'))
    expect(cart.items.map((l) => l.product_id)).toEqual([1])
    expect(cart.totalCents).toBe(2500)
  })

  test('takes its currency from its lines, and the shop’s when empty', async () => {
    const cart = useCartStore()
    await cart.add(euroGame)
    expect(cart.shopCurrency()).toBe('EUR')
    await cart.remove(3)
    expect(cart.items).toEqual([])
    expect(cart.shopCurrency()).toBe('USD')
    await cart.add(game) // an empty cart takes any currency
    expect(cart.shopCurrency()).toBe('USD')
  })

  test('quantities stay between 1 and the maximum; 0 removes the line', async () => {
    const cart = useCartStore()
    await cart.add(game, MAX_QUANTITY + 5)
    expect(cart.quantityOf(1)).toBe(MAX_QUANTITY)
    await cart.setQuantity(1, 0)
    expect(cart.items).toEqual([])
    expect(localStorage.getItem(GUEST_CART_KEY)).toBe(null)
  })

  test('a damaged stored cart is read as far as it makes sense', async () => {
    localStorage.setItem(
      GUEST_CART_KEY,
      JSON.stringify({ items: [{ product_id: 'x', quantity: 1 }, { product_id: 4, quantity: -1 }, { product_id: 5, quantity: 2.7, price_cents: 'n' }] }),
    )
    const cart = useCartStore()
    await cart.ensure()
    expect(cart.items.map((l) => [l.product_id, l.quantity, l.price_cents, l.name])).toEqual([[5, 2, 0, 'Product 5']])
  })
})
