import { describe, expect, test } from 'vitest'
import { addressBlank, addressBody, addressForm, addressMessages, emptyAddress, sameAddress } from './address'

describe('the address codec of AddressFields', () => {
  test('a stored address fills the form; missing parts stay empty, the country null', () => {
    expect(addressForm(null)).toEqual(emptyAddress())
    expect(addressForm({ line1: '1 Raffles Place', city: 'Singapore', country: 'SG', extra: 'x' })).toEqual({
      name: '',
      line1: '1 Raffles Place',
      line2: '',
      city: 'Singapore',
      postal_code: '',
      country: 'SG',
    })
  })

  test('the API body is trimmed, has line2 only when given, and a fallback name', () => {
    const form = { name: ' ', line1: ' 1 Raffles Place ', line2: '  ', city: 'Singapore', postal_code: '048616 ', country: 'SG' }
    expect(addressBody(form, ' Jane Doe ')).toEqual({
      name: 'Jane Doe',
      line1: '1 Raffles Place',
      city: 'Singapore',
      postal_code: '048616',
      country: 'SG',
    })
    expect(addressBody({ ...form, name: 'Ann', line2: 'Level 5' }, 'Jane').line2).toBe('Level 5')
    expect(addressBody({ ...form, country: null }).country).toBe('')
  })

  test('blank and same', () => {
    expect(addressBlank(emptyAddress())).toBe(true)
    expect(addressBlank({ ...emptyAddress(), city: ' ' })).toBe(true)
    expect(addressBlank({ ...emptyAddress(), country: 'SG' })).toBe(false)
    const a = { name: 'A', line1: 'B', city: 'C', postal_code: 'D', country: 'SG' }
    expect(sameAddress(a, { ...a })).toBe(true)
    expect(sameAddress(a, { ...a, line2: '' })).toBe(true)
    expect(sameAddress(a, { ...a, city: 'E' })).toBe(false)
    expect(sameAddress(a, null)).toBe(false)
  })

  test("a form's address.<part> messages, by part", () => {
    expect(addressMessages({ 'address.city': 'Enter the city.', 'address.line2': undefined, phone: 'x' })).toEqual({ city: 'Enter the city.' })
  })
})
