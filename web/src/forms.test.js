import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { ApiError } from './api'
import {
  PHONE_HINT,
  cardDigits,
  expiryProblem,
  fieldSentence,
  isE164,
  isPlainText,
  isPostalCode,
  luhnValid,
  normalizePhone,
  parseExpiry,
  rules,
  splitErrors,
} from './forms'

// The examples the server's unit tests check too (src/orders/form_rule_examples_test.cpp).
const here = path.dirname(fileURLToPath(import.meta.url))
const examples = JSON.parse(readFileSync(path.join(here, '../../tests/unit/form_rule_examples.json'), 'utf8'))

describe('the server rules, on the same examples as the server', () => {
  test.each(examples.e164)('isE164(%j) is %s', (value, ok) => {
    expect(isE164(value)).toBe(ok)
  })
  test.each(examples.luhn)('luhnValid(%j) is %s', (value, ok) => {
    expect(luhnValid(value)).toBe(ok)
  })
  const now = new Date(examples.expiry_now_unix * 1000)
  test.each(examples.expiry)('expiry %i/%i accepted: %s', (month, year, ok) => {
    expect(expiryProblem(month, year, now) === null).toBe(ok)
  })
  test.each(examples.postal_code)('isPostalCode(%j) is %s', (value, ok) => {
    expect(isPostalCode(value)).toBe(ok)
  })
  test.each(examples.address_city)('a city of %j is accepted: %s', (value, ok) => {
    expect(isPlainText(value, 100)).toBe(ok)
  })
})

describe('field rules', () => {
  test('a phone is checked after spaces, dashes and brackets are dropped', () => {
    expect(normalizePhone('+65 9123-4567')).toBe('+6591234567')
    expect(normalizePhone('+1 (415) 555.0123')).toBe('+14155550123')
    expect(rules.phone('+65 9123 4567')).toBe(true)
    expect(rules.phone('91234567')).toBe(PHONE_HINT)
    // Seven digits pass a looser pattern but not the server: the page says so before sending.
    expect(rules.phone('+1234567')).toBe(PHONE_HINT)
    expect(rules.phone('')).toBe(true) // optional: required() is a rule of its own
  })

  test('a card number: digits first, then the Luhn check', () => {
    expect(cardDigits('4242 4242-4242 4242')).toBe('4242424242424242')
    expect(rules.card('4242 4242 4242 4242')).toBe(true)
    expect(rules.card('4242 4242 4242 4241')).toBe('This card number is not valid. Check the digits.')
    expect(rules.card('4242')).toBe('Enter the 12 to 19 digits of the card number.')
    expect(rules.card('4242 4242 4242 424x')).toBe('Enter the 12 to 19 digits of the card number.')
  })

  test('an expiry date is MM/YY or MM/YYYY, not past, not too far ahead', () => {
    expect(parseExpiry('08/29')).toEqual({ month: 8, year: 2029 })
    expect(parseExpiry(' 8 / 2029 ')).toEqual({ month: 8, year: 2029 })
    expect(parseExpiry('13/29')).toBe(null)
    expect(parseExpiry('0829')).toBe(null)
    const thisYear = new Date().getUTCFullYear()
    expect(rules.expiry(`01/${thisYear - 1}`)).toBe('This card has expired.')
    expect(rules.expiry(`12/${thisYear + 1}`)).toBe(true)
    expect(rules.expiry(`12/${thisYear + 26}`)).toMatch(/too far ahead/)
    expect(rules.expiry('soon')).toMatch(/MM\/YY/)
  })

  test('the security code is 3 or 4 digits', () => {
    expect(rules.cvc('123')).toBe(true)
    expect(rules.cvc('1234')).toBe(true)
    expect(rules.cvc('12')).not.toBe(true)
    expect(rules.cvc('12a')).not.toBe(true)
  })

  test('address text: the server limits, counted in characters, on one line', () => {
    const rule = rules.plainText(100, 'City')
    expect(rule('é'.repeat(100))).toBe(true)
    expect(rule('é'.repeat(101))).toBe('City must be at most 100 characters, on one line.')
    expect(rule('')).toBe(true) // empty is the required rule's business
    expect(rules.postalCode('SW1A 1AA')).toBe(true)
    expect(rules.postalCode('SW1A#1AA')).toMatch(/16 letters, digits, spaces or dashes/)
  })

  test('required names the missing thing; email wants name@domain', () => {
    expect(rules.required('the city')('  ')).toBe('Enter the city.')
    expect(rules.required('the city')('Paris')).toBe(true)
    expect(rules.email('jane@example.com')).toBe(true)
    expect(rules.email('jane@example')).toMatch(/name@example\.com/)
  })
})

describe('field errors from the server, by code', () => {
  test('a known code gets the page sentence; its parameters fill it in', () => {
    expect(fieldSentence({ field: 'phone', code: 'invalid_phone', message: 'bad' }, 'Phone')).toBe(PHONE_HINT)
    expect(fieldSentence({ field: 'name', code: 'required', message: 'x' }, 'Name')).toBe('Name is required.')
    expect(fieldSentence({ field: 'name', code: 'too_long', max: 100, message: 'x' }, 'Name')).toBe('Name must be at most 100 characters.')
    expect(fieldSentence({ field: 'password', code: 'too_short', min: 10, message: 'x' }, 'Password')).toBe(
      'Password must be at least 10 characters.',
    )
    expect(fieldSentence({ field: 'payment.card_number', code: 'invalid_card' }, 'Card number')).toMatch(/not valid/)
    expect(fieldSentence({ field: 'payment.exp_year', code: 'card_expired' }, 'Expiry date')).toBe('This card has expired.')
    expect(fieldSentence({ field: 'address.country', code: 'invalid_country' }, 'Country')).toBe('Choose a country from the list.')
  })

  test('an unknown code, a code missing its parameter, or no code: the server message', () => {
    expect(fieldSentence({ field: 'x', code: 'brand_new_reason', message: 'must rhyme' }, 'Poem')).toBe('Poem must rhyme.')
    expect(fieldSentence({ field: 'name', code: 'too_long', message: 'must be 1 to 100 characters' }, 'Name')).toBe(
      'Name must be 1 to 100 characters.',
    )
    expect(fieldSentence({ field: 'name', message: 'is required' }, 'Name')).toBe('Name is required.')
    expect(fieldSentence({ field: 'name', message: 'Pick another name.' }, 'Name')).toBe('Pick another name.')
  })

  test('splitErrors puts each entry under its field and the rest in one message', () => {
    const error = new ApiError(422, 'validation_failed', 'Some fields are not valid.', {
      fields: [
        { field: 'phone', code: 'invalid_phone', message: 'must be an international number' },
        { field: 'address.city', code: 'required', message: 'is required' },
        { field: 'address.city', code: 'too_long', max: 100, message: 'second message for the same field' },
        { field: 'nickname', code: 'unknown_field', message: 'is not a known field' },
      ],
    })
    const split = splitErrors(error, { phone: 'Phone', 'address.city': ['city', 'City'] })
    expect(split.fields).toEqual({ phone: PHONE_HINT, city: 'City is required.' })
    expect(split.general).toBe('Nickname is not a known field.')
    expect(split.summary).toBe(split.general)
  })

  test('splitErrors: an error without fields is the general message; field errors alone ask for corrections', () => {
    const limited = new ApiError(429, 'rate_limited', 'Too many.', {}, 30)
    expect(splitErrors(limited).general).toBe('Too many attempts. Please wait 30 seconds and try again.')
    const onlyFields = new ApiError(422, 'validation_failed', 'x', { fields: [{ field: 'name', code: 'required' }] })
    const split = splitErrors(onlyFields, { name: 'Name' })
    expect(split.general).toBe('')
    expect(split.summary).toBe('Please correct the marked fields.')
  })
})
