import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { ApiError, RETRY_TRIES, api, apiRequest, dropPrefetched, errorText, prefetch, setRetryListener } from './api'
import { orderApi } from './orderApi'

// The server's answers, in order, as the page's fetch() sees them.
function serve(...answers) {
  const calls = []
  globalThis.fetch = vi.fn(async (url, init) => {
    calls.push({ url, method: init.method, headers: init.headers, body: init.body })
    const a = answers[Math.min(calls.length, answers.length) - 1]
    return new Response(JSON.stringify(a.body ?? {}), { status: a.status, headers: { 'Content-Type': 'application/json', ...a.headers } })
  })
  return calls
}
const busy = (after = '1') => ({
  status: 503,
  headers: after === null ? {} : { 'Retry-After': after },
  body: { error: { code: 'overloaded', message: 'The shop is busy; try again shortly.', details: {} } },
})
const ok = (body = { ok: true }, status = 200) => ({ status, body })

/** Runs `promise` to its end while fake timers fire every wait it starts. */
async function settle(promise) {
  const result = promise.then(
    (value) => ({ value }),
    (error) => ({ error }),
  )
  for (let i = 0; i < 20; i++) await vi.runAllTimersAsync()
  return result
}

const realFetch = globalThis.fetch
beforeEach(() => {
  vi.useFakeTimers()
  vi.spyOn(Math, 'random').mockReturnValue(1) // the longest jitter: Retry-After and a half
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
  globalThis.fetch = realFetch
  setRetryListener(null)
  dropPrefetched()
})

describe('a busy shop (503 with Retry-After)', () => {
  test('sign-up waits Retry-After plus jitter, tells onRetry, and is sent again until it succeeds', async () => {
    const calls = serve(busy('1'), busy('2'), ok({ token: 't', user: { id: 1 } }, 201))
    const waits = []
    const onRetry = (state) => waits.push(state.done ? 'done' : { attempt: state.attempt, tries: state.tries, wait: state.until - Date.now() })
    const { value, error } = await settle(api.signup({ email: 'a@b.co', password: 'x', name: 'A' }, { onRetry }))
    expect(error).toBeUndefined()
    expect(value.user.id).toBe(1)
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['POST', '/api/auth/signup'],
      ['POST', '/api/auth/signup'],
      ['POST', '/api/auth/signup'],
    ])
    expect(calls.every((c) => c.body === calls[0].body)).toBe(true)
    expect(waits).toEqual([{ attempt: 1, tries: RETRY_TRIES, wait: 1500 }, 'done', { attempt: 2, tries: RETRY_TRIES, wait: 3000 }, 'done'])
  })

  test('the jitter stays between Retry-After and one and a half times it', async () => {
    Math.random.mockReturnValue(0)
    serve(busy('2'), ok())
    const waits = []
    await settle(api.login({ email: 'a@b.co', password: 'x' }, { onRetry: (s) => s.done || waits.push(s.until - Date.now()) }))
    expect(waits).toEqual([2000])
  })

  test('gives up after RETRY_TRIES tries with a sentence that says so', async () => {
    const calls = serve(busy('1'))
    const { error } = await settle(api.login({ email: 'a@b.co', password: 'x' }))
    expect(calls.length).toBe(RETRY_TRIES)
    expect(error).toBeInstanceOf(ApiError)
    expect(error.status).toBe(503)
    expect(error.tries).toBe(RETRY_TRIES)
    expect(errorText(error)).toBe(`The shop is still busy after ${RETRY_TRIES} tries. Please wait a minute and try again.`)
  })

  test('reads (GET) retry by themselves and tell the page-wide listener', async () => {
    const heard = []
    setRetryListener((state) => heard.push(state.done ? 'done' : 'wait'))
    const calls = serve(busy('1'), ok({ items: [], total: 0 }))
    const { value } = await settle(api.products({ q: 'x' }))
    expect(value).toEqual({ items: [], total: 0 })
    expect(calls.length).toBe(2)
    expect(heard).toEqual(['wait', 'done'])
  })

  test('checkout and its review retry; checkout sends the same Idempotency-Key each time', async () => {
    const calls = serve(busy('1'), ok({ id: 5 }, 201))
    const { value } = await settle(orderApi.checkout({ phone: '+6591234567' }, 'key-1'))
    expect(value.id).toBe(5)
    expect(calls.map((c) => c.headers['Idempotency-Key'])).toEqual(['key-1', 'key-1'])
    const reviews = serve(busy('1'), ok({ total_cents: 100 }))
    await settle(orderApi.validate({}))
    expect(reviews.length).toBe(2)
  })

  test('other writes are never retried: the 503 comes back at once', async () => {
    for (const write of [() => orderApi.addToCart(3, 1), () => orderApi.cancelOrder(9), () => api.updateMe({ name: 'B' })]) {
      const calls = serve(busy('1'), ok())
      const { error } = await settle(write())
      expect(calls.length).toBe(1)
      expect(error.status).toBe(503)
      expect(error.tries).toBe(1)
      expect(errorText(error)).toBe('The shop is busy; try again shortly.')
    }
  })

  test('no Retry-After, or a wait longer than a page should hold (a standby), is not retried', async () => {
    for (const answer of [busy(null), busy('30'), busy('soon')]) {
      const calls = serve(answer, ok())
      const { error } = await settle(apiRequest('GET', '/api/store'))
      expect(calls.length).toBe(1)
      expect(error.status).toBe(503)
    }
  })

  test('a 429 is not retried: it says how long to wait', async () => {
    const calls = serve({ status: 429, headers: { 'Retry-After': '12' }, body: { error: { code: 'rate_limited', message: 'x' } } }, ok())
    const { error } = await settle(api.login({ email: 'a@b.co', password: 'x' }))
    expect(calls.length).toBe(1)
    expect(errorText(error)).toBe('Too many attempts. Please wait 12 seconds and try again.')
  })

  test('aborting during the wait stops the retries', async () => {
    const calls = serve(busy('1'), ok())
    const controller = new AbortController()
    const waits = []
    const pending = apiRequest('GET', '/api/products', { signal: controller.signal, onRetry: (s) => waits.push(s) }).catch((e) => e)
    await vi.waitFor(() => expect(waits.length).toBe(1))
    controller.abort()
    const error = await pending
    expect(error.name).toBe('AbortError')
    expect(waits[1]).toEqual({ id: waits[0].id, done: true })
    expect(calls.length).toBe(1)
  })
})

describe("prefetch (the first page's read, sent while the app loads)", () => {
  test("the page's first read of the same URL takes the prefetched answer; the next one asks again", async () => {
    const calls = serve(ok({ items: [1], total: 1 }), ok({ items: [2], total: 1 }))
    prefetch('/api/products', { q: '', sort: 'popular', page: 1, per_page: 24 })
    expect(calls.map((c) => c.url)).toEqual(['/api/products?sort=popular&page=1&per_page=24'])
    expect((await settle(api.products({ sort: 'popular', page: 1, per_page: 24 }))).value.items).toEqual([1])
    expect(calls.length).toBe(1)
    expect((await settle(api.products({ sort: 'popular', page: 1, per_page: 24 }))).value.items).toEqual([2])
    expect(calls.length).toBe(2)
  })

  test('another URL is not answered from it, and a dropped answer is not used', async () => {
    const calls = serve(ok({ n: 1 }), ok({ n: 2 }), ok({ n: 3 }))
    prefetch('/api/products/7')
    expect((await settle(api.product(8))).value.n).toBe(2)
    dropPrefetched()
    expect((await settle(api.product(7))).value.n).toBe(3)
    expect(calls.map((c) => c.url)).toEqual(['/api/products/7', '/api/products/8', '/api/products/7'])
  })

  test('the answer reaches the page in a task of its own, after what the page does now', async () => {
    serve(ok({ n: 1 }))
    prefetch('/api/products/5')
    await vi.advanceTimersByTimeAsync(0) // the answer is in
    const order = []
    const taken = api.product(5).then(() => order.push('answer'))
    await Promise.resolve().then(() => order.push('same task'))
    expect(order).toEqual(['same task'])
    await settle(taken)
    expect(order).toEqual(['same task', 'answer'])
  })

  test('a failed prefetch reaches the page that takes it as its own error', async () => {
    serve({ status: 404, body: { error: { code: 'not_found', message: 'No such product.', details: {} } } })
    prefetch('/api/products/9')
    const { error } = await settle(api.product(9))
    expect(error).toBeInstanceOf(ApiError)
    expect(error.code).toBe('not_found')
  })
})
