// What a checkout or review answer's details.fields say, read by field and code, never from the
// server's English. Each entry is {field, code, message, ...named parameters}: cart lines are
// "items.<product_id>" (not_sold, out_of_stock, insufficient_stock with `available`) and
// "items.<product_id>.price_cents" (price_changed with `old_price_cents` and `price_cents`); "cart"
// is `empty`; the rest are input fields. An entry whose code the page does not know (or an older
// server's entry without a code) shows the server's own message.
import { fieldEntries, fieldSentence, humanField, sentence } from './forms'
import { formatMoney } from './format'

const LINE_FIELD = /^items\.(\d+)(\.price_cents)?$/

const count = (v) => (Number.isInteger(v) && v >= 0 ? v : null)

/**
 * One cart line's problem: { kind: 'price' | 'stock', text, left? }. `left` (how many can still be
 * bought) is set when some are left; `kind` picks what the page offers (accept the price, buy
 * fewer, remove the line).
 */
export function lineProblem(entry, currency) {
  const onPrice = /\.price_cents$/.test(entry.field)
  switch (entry.code) {
    case 'price_changed': {
      const before = count(entry.old_price_cents)
      const now = count(entry.price_cents)
      if (before !== null && now !== null) {
        return { kind: 'price', text: `The price changed from ${formatMoney(before, currency)} to ${formatMoney(now, currency)}.` }
      }
      break
    }
    case 'insufficient_stock': {
      const left = count(entry.available)
      if (left === 0) return { kind: 'stock', text: 'This item is out of stock.' }
      if (left !== null) return { kind: 'stock', text: `Only ${left} left in stock.`, left }
      break
    }
    case 'out_of_stock':
      return { kind: 'stock', text: 'This item is out of stock.' }
    case 'not_sold':
      return { kind: 'stock', text: 'This item is no longer sold.' }
  }
  return onPrice ? { kind: 'price', text: sentence('', entry.message) } : { kind: 'stock', text: sentence('This item', entry.message) }
}

/**
 * Splits an error's field entries: `fields` (form key -> sentence, through `fieldMap`, which maps
 * server field names to [form key, label]), `lines` (product id -> lineProblem) and `other`
 * (sentences for the rest, in order).
 */
export function checkoutErrors(error, fieldMap, currency) {
  const fields = {}
  const lines = {}
  const other = []
  for (const entry of fieldEntries(error)) {
    const spec = fieldMap[entry.field]
    const line = LINE_FIELD.exec(entry.field)
    if (spec) {
      if (!fields[spec[0]]) fields[spec[0]] = fieldSentence(entry, spec[1])
    } else if (line) {
      const id = Number(line[1])
      // A stock problem outranks a price change of the same line: it decides what can be bought.
      if (!lines[id] || lines[id].kind === 'price') lines[id] = lineProblem(entry, currency)
    } else if (entry.field === 'cart' && (entry.code === 'empty' || !entry.code)) {
      other.push('Your cart is empty.')
    } else {
      other.push(fieldSentence(entry, humanField(entry.field)))
    }
  }
  return { fields, lines, other }
}
